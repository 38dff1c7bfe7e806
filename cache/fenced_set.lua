-- Write-through rebuild: set the value only if no newer fencing token rebuilt
-- it, and void any reader lease (a lease taken before the source write could
-- otherwise fill an older value after this rebuild).
-- KEYS[1] value key, KEYS[2] lease key, KEYS[3] fence key (same hash tag)
-- ARGV[1] fencing token (integer >= 0), ARGV[2] framed payload,
-- ARGV[3] value TTL ms, ARGV[4] fence TTL ms
-- Returns 1 when set, 0 when refused by a newer token.
local tok = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
local fttl = tonumber(ARGV[4])
if tok == nil or tok < 0 or tok ~= math.floor(tok) then return redis.error_reply('ERR surge cache: bad fencing token') end
if ttl == nil or ttl < 1 or fttl == nil or fttl < 1 then return redis.error_reply('ERR surge cache: bad ttl') end
if ARGV[2] == '' then return redis.error_reply('ERR surge cache: empty payload') end
local cur = tonumber(redis.call('GET', KEYS[3]) or '-1')
if cur ~= nil and cur > tok then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', fttl)
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('DEL', KEYS[2])
return 1
