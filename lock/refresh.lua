-- Compare-and-extend: only the owner's token sets a new lease.
-- KEYS[1] lock key; ARGV[1] owner token, ARGV[2] lease in ms.
-- Returns 1 extended, 0 not held (never re-creates an expired lock).
local ttl = tonumber(ARGV[2])
if ARGV[1] == '' or not ttl or ttl <= 0 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge lock refresh: bad arguments')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ttl)
end
return 0
