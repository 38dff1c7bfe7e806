-- Settle a reservation: ARGV[2]='paid' (confirm) or 'released' (timeout/cancel).
-- KEYS: counters hash, journal hash, per-user hash, outbox stream.
-- ARGV: op, target state, now (unix ms).
-- Returns 'ok' | 'paid' | 'released' | 'unknown' (the state found when nothing changed).
local op, target = ARGV[1], ARGV[2]
if op == '' or (target ~= 'paid' and target ~= 'released') then
  return redis.error_reply('seckill: bad settle arguments')
end
local v = redis.call('HGET', KEYS[2], op)
if not v then return 'unknown' end
local st, user, qty = string.match(v, '^(%a+)|(.*)|(%d+)$')
if st ~= 'reserved' then return st end
qty = tonumber(qty)
redis.call('HINCRBY', KEYS[1], 'reserved', -qty)
if target == 'paid' then
  redis.call('HINCRBY', KEYS[1], 'sold', qty)
else
  redis.call('HINCRBY', KEYS[1], 'available', qty)
  redis.call('HINCRBY', KEYS[3], user, -qty)
end
redis.call('HSET', KEYS[2], op, target .. '|' .. user .. '|' .. qty)
local t = 'confirm'
if target == 'released' then t = 'release' end
redis.call('XADD', KEYS[4], '*', 't', t, 'op', op, 'u', user, 'q', qty, 'ts', ARGV[3])
return 'ok'
