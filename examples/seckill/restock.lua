-- Add stock under an op id (INCRBY, never SET). KEYS: counters, journal. ARGV: op, qty.
local qty = tonumber(ARGV[2])
if ARGV[1] == '' or not qty or qty <= 0 then
  return redis.error_reply('seckill: bad restock arguments')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], 'restock:' .. ARGV[1], qty) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'total', qty)
redis.call('HINCRBY', KEYS[1], 'available', qty)
return 1
