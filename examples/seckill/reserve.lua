-- Reserve one unit. The journal is checked FIRST so a retried op returns its first
-- outcome and never deducts twice.
-- KEYS: counters hash, journal hash, per-user hash, outbox stream.
-- ARGV: op, user, qty, now (unix ms).
-- Returns {code, state}: code 'ok' | 'dup' | 'soldout' | 'limit' | 'nosale'.
local op, user, qty = ARGV[1], ARGV[2], tonumber(ARGV[3])
if op == '' or user == '' or not qty or qty <= 0 then
  return redis.error_reply('seckill: bad reserve arguments')
end
local prev = redis.call('HGET', KEYS[2], op)
if prev then return {'dup', prev} end
local avail = tonumber(redis.call('HGET', KEYS[1], 'available'))
if not avail then return {'nosale', ''} end
if avail < qty then return {'soldout', ''} end
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit')) or 0
if limit > 0 then
  local used = tonumber(redis.call('HGET', KEYS[3], user)) or 0
  if used + qty > limit then return {'limit', ''} end
end
redis.call('HINCRBY', KEYS[1], 'available', -qty)
redis.call('HINCRBY', KEYS[1], 'reserved', qty)
redis.call('HINCRBY', KEYS[3], user, qty)
local entry = 'reserved|' .. user .. '|' .. qty
redis.call('HSET', KEYS[2], op, entry)
redis.call('XADD', KEYS[4], '*', 't', 'reserve', 'op', op, 'u', user, 'q', qty, 'ts', ARGV[4])
return {'ok', entry}
