-- snapshot.lua: an atomic view of one group for Reconcile.
--
-- KEYS[1] journal base, KEYS[2] outbox, KEYS[3] SKU set, KEYS[4] group base (SKU keys
-- are base..'s:'..sku, same hash tag). ARGV[1] journal TTL seconds.
-- Reply: {last outbox id or '', {sku, avail, reserved, sold, total, ...},
--         current journal generation (HGETALL), previous generation (HGETALL)}
-- The stream is then read up to the returned id, so counters and log are compared at
-- the same instant even while traffic goes on.
local ttl = tonumber(ARGV[1])
if ttl == nil or ttl < 1 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge/stock: bad ttl')
end
local now = tonumber(redis.call('TIME')[1])
local gen = math.floor(now / ttl)
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = ''
if #last > 0 then id = last[1][1] end
local levels = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local v = redis.call('HMGET', KEYS[4] .. 's:' .. name, 'avail', 'reserved', 'sold', 'total')
  table.insert(levels, name)
  for i = 1, 4 do table.insert(levels, v[i] or '0') end
end
return { id, levels, redis.call('HGETALL', KEYS[1] .. ':' .. gen),
  redis.call('HGETALL', KEYS[1] .. ':' .. (gen - 1)) }
