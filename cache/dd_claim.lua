-- Claim up to ARGV[3] due deletes for one worker.
-- KEYS[1] due zset, KEYS[2] inflight zset (score = claim deadline),
-- KEYS[3] tries hash
-- ARGV[1] now (unix ms), ARGV[2] visibility ms, ARGV[3] limit
-- First, claims whose deadline passed (their worker died) go back to due.
-- Returns a flat list: deadline, then key, attempt, key, attempt, ...
local now = tonumber(ARGV[1])
local vis = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if now == nil or vis == nil or vis < 1 or limit == nil or limit < 1 then
  return redis.error_reply('ERR surge cache: bad claim arguments')
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  if not redis.call('ZSCORE', KEYS[1], m) then redis.call('ZADD', KEYS[1], now, m) end
end
local deadline = now + vis
local out = {tostring(deadline)}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], deadline, m)
  out[#out + 1] = m
  out[#out + 1] = redis.call('HINCRBY', KEYS[3], m, 1)
end
return out
