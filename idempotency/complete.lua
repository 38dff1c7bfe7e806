-- complete: store the outcome, only if this attempt still owns the record.
-- KEYS[1] record hash, KEYS[2] lease
-- ARGV[1] owner id, ARGV[2] result bytes, ARGV[3] failed ('0'|'1'), ARGV[4] failure message,
-- ARGV[5] retention in ms (counted from completion)
-- Reply: 1 stored, 0 not the owner any more (a successor took over, or the record is gone)
local owner, ttl = ARGV[1], tonumber(ARGV[5])
if owner == nil or owner == '' or (ARGV[3] ~= '0' and ARGV[3] ~= '1') or ttl == nil or ttl <= 0 then
  return redis.error_reply('ERR idempotency complete: bad arguments')
end
local st = redis.call('HMGET', KEYS[1], 's', 'o')
if st[1] ~= 'p' or st[2] ~= owner then
  return 0
end
redis.call('HSET', KEYS[1], 's', 'd', 'r', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'e', '1', 'm', ARGV[4])
end
redis.call('HDEL', KEYS[1], 'o')
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('GET', KEYS[2]) == owner then
  redis.call('DEL', KEYS[2])
end
return 1
