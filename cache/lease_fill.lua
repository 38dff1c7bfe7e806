-- Fill an entry only while holding a valid lease, then release the lease.
-- KEYS[1] value key, KEYS[2] lease key (same hash tag)
-- ARGV[1] lease token, ARGV[2] framed payload ('' = release without filling),
-- ARGV[3] value TTL in ms
-- Returns 1 when filled (or released), 0 when the lease was voided by a writer
-- or expired (nothing is written).
local token = ARGV[1]
if token == nil or token == '' then return redis.error_reply('ERR surge cache: empty lease token') end
if redis.call('GET', KEYS[2]) ~= token then return 0 end
redis.call('DEL', KEYS[2])
if ARGV[2] == '' then return 1 end
local ttl = tonumber(ARGV[3])
if ttl == nil or ttl < 1 or ttl ~= math.floor(ttl) then return redis.error_reply('ERR surge cache: bad ttl') end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
return 1
