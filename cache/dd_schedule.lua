-- Schedule a durable delete of ARGV[2] at ARGV[1] (unix ms). An already
-- pending delete keeps the later of the two due times: deleting later still
-- happens after every scheduling writer's delay.
-- KEYS[1] due zset
local due = tonumber(ARGV[1])
if due == nil or due < 0 or due ~= math.floor(due) then return redis.error_reply('ERR surge cache: bad due time') end
if ARGV[2] == nil or ARGV[2] == '' then return redis.error_reply('ERR surge cache: empty key') end
local cur = redis.call('ZSCORE', KEYS[1], ARGV[2])
if cur and tonumber(cur) >= due then return 0 end
redis.call('ZADD', KEYS[1], due, ARGV[2])
return 1
