-- issue: bind a pre-order token to (user, purpose), or return the one already bound, so
-- that opening the order page twice shows the same token and can lead to one order only.
-- KEYS[1] record hash
-- ARGV[1] fresh token (used only when none is bound), ARGV[2] token lifetime in ms
-- Reply: {token, state} where state is 'i' issued, 'p' being redeemed, 'd' redeemed
local ms = tonumber(ARGV[2])
if ARGV[1] == nil or ARGV[1] == '' or ms == nil or ms <= 0 then
  return redis.error_reply('ERR idempotency issue: bad arguments')
end
local st = redis.call('HMGET', KEYS[1], 's', 'k')
if st[1] and st[2] then
  return {st[2], st[1]}
end
redis.call('HSET', KEYS[1], 's', 'i', 'k', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ms)
return {ARGV[1], 'i'}
