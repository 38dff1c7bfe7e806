-- Create a sale's stock once. KEYS[1]=counters hash. ARGV: qty, per-user limit.
local qty, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if not qty or qty < 0 or not limit or limit < 0 then
  return redis.error_reply('seckill: bad create arguments')
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'total', qty, 'available', qty, 'reserved', 0, 'sold', 0, 'limit', limit)
return 1
