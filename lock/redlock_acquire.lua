-- Redlock per-master acquire: SET NX PX plus a hybrid-clock fencing counter.
-- KEYS[1] lock key, KEYS[2] fencing counter (same hash tag)
-- ARGV[1] owner token, ARGV[2] lease in ms
-- Returns the master's new counter (> 0) when obtained, 0 when held by another.
--
-- The counter is max(previous + 1, server time in µs). The time floor is what
-- keeps tokens monotonic when a master restarts WITHOUT persistence and comes
-- back with no counter: it resumes at its clock, which is past every token it
-- issued before (see doc.go for the exact model). TIME is allowed here because
-- Redis 7 replicates the script's effects (the SET of the value), not the script.
local ttl = tonumber(ARGV[2])
if ARGV[1] == '' or not ttl or ttl <= 0 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge redlock acquire: bad arguments')
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) + 1
if now > n then
  n = now
end
-- %.0f: tostring would print 1.7e+15 and lose digits; values stay < 2^53.
redis.call('SET', KEYS[2], string.format('%.0f', n))
return n
