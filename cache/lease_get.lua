-- Read an entry or take its lease.
-- KEYS[1] value key, KEYS[2] lease key (same hash tag)
-- ARGV[1] lease token (non-empty), ARGV[2] lease TTL in ms (positive integer)
-- Returns {1, value} on a hit, {2} when this caller now holds the lease,
-- {3} when another caller holds it.
local token = ARGV[1]
local ttl = tonumber(ARGV[2])
if token == nil or token == '' then return redis.error_reply('ERR surge cache: empty lease token') end
if ttl == nil or ttl < 1 or ttl ~= math.floor(ttl) then return redis.error_reply('ERR surge cache: bad lease ttl') end
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], token, 'NX', 'PX', ttl) then return {2} end
return {3}
