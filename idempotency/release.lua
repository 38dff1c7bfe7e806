-- release: give the key back after a transient failure, only if this attempt owns it.
-- A plain key disappears (the next request runs afresh); an issued pre-order token goes
-- back to 'issued' so that the same token can be redeemed again.
-- KEYS[1] record hash, KEYS[2] lease
-- ARGV[1] owner id, ARGV[2] token lifetime in ms (used only for tokens)
-- Reply: 1 released, 0 not the owner
local owner, tokenTTL = ARGV[1], tonumber(ARGV[2])
if owner == nil or owner == '' or tokenTTL == nil or tokenTTL <= 0 then
  return redis.error_reply('ERR idempotency release: bad arguments')
end
local st = redis.call('HMGET', KEYS[1], 's', 'o', 'k')
if st[1] ~= 'p' or st[2] ~= owner then
  return 0
end
if st[3] then
  redis.call('HSET', KEYS[1], 's', 'i')
  redis.call('HDEL', KEYS[1], 'f', 'o')
  redis.call('PEXPIRE', KEYS[1], tokenTTL)
else
  redis.call('DEL', KEYS[1])
end
if redis.call('GET', KEYS[2]) == owner then
  redis.call('DEL', KEYS[2])
end
return 1
