-- A delete failed: retry at ARGV[3] or, after ARGV[4] attempts, give up and
-- record it in the failed list (latest 1000).
-- KEYS[1] due, KEYS[2] inflight, KEYS[3] tries, KEYS[4] failed list
-- ARGV[1] key, ARGV[2] claim deadline, ARGV[3] retry at (unix ms), ARGV[4] max attempts
-- Returns 1 when requeued, 0 when given up, -1 when the claim is not ours.
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return -1 end
local at = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
if at == nil or max == nil or max < 1 then return redis.error_reply('ERR surge cache: bad nack arguments') end
redis.call('ZREM', KEYS[2], ARGV[1])
local n = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if n >= max then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('LPUSH', KEYS[4], ARGV[1])
  redis.call('LTRIM', KEYS[4], 0, 999)
  return 0
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], at, ARGV[1]) end
return 1
