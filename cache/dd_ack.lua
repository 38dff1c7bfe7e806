-- Acknowledge a done delete, only if this claim still owns it (the deadline
-- matches; a later claim by another worker has a different one).
-- KEYS[1] inflight zset, KEYS[2] tries hash; ARGV[1] key, ARGV[2] deadline
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
