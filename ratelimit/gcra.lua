-- GCRA step on one key, using the Redis server clock. Twin of gcra() in gcra.go.
-- KEYS[1]  the key's TAT (theoretical arrival time, microseconds since the epoch)
-- ARGV[1]  emission interval in microseconds (integer >= 1)
-- ARGV[2]  burst (integer >= 1)
-- ARGV[3]  n, events requested (integer, 1 <= n <= burst)
-- ARGV[4]  "1" for a dry run (Peek: nothing is stored), "0" otherwise
-- Returns {allowed (0/1), remaining, retry_after_us, reset_after_us}.
local iv = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local dry = ARGV[4]
if not iv or iv < 1 or iv ~= math.floor(iv) then
  return redis.error_reply('ERR ratelimit: bad interval')
end
if not burst or burst < 1 or burst ~= math.floor(burst) then
  return redis.error_reply('ERR ratelimit: bad burst')
end
if not n or n < 1 or n > burst or n ~= math.floor(n) then
  return redis.error_reply('ERR ratelimit: bad n')
end
if iv * burst > 1125899906842624 then
  return redis.error_reply('ERR ratelimit: interval*burst too large')
end
if dry ~= '0' and dry ~= '1' then
  return redis.error_reply('ERR ratelimit: bad dry flag')
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tau = iv * burst

local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local newtat = tat + iv * n
local allow_at = newtat - tau
if now < allow_at then
  local rem = math.floor((now + tau - tat) / iv)
  if rem < 0 then rem = 0 end
  return {0, rem, allow_at - now, tat - now}
end
if dry == '1' then
  local rem = math.floor((now + tau - tat) / iv)
  if rem < 0 then rem = 0 end
  return {1, rem, 0, tat - now}
end
-- The key expires exactly when its bucket is full again, so expiry loses nothing.
-- string.format keeps all digits (tostring of a double would round to 14).
local ttl = math.ceil((newtat - now) / 1000)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', ttl)
local rem = math.floor((now + tau - newtat) / iv)
if rem < 0 then rem = 0 end
return {1, rem, 0, newtat - now}
