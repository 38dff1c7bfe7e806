-- load.lua: Load (create a SKU) and Restock (add stock) under an op id.
--
-- KEYS[1] journal base <prefix>stock:{g}:j, KEYS[2] outbox <prefix>stock:{g}:o,
-- KEYS[3] SKU hash <prefix>stock:{g}:s:<sku>, KEYS[4] SKU set <prefix>stock:{g}:skus
-- ARGV: ttl, mode (load|restock|out), op id, sku name, qty, safety, low, limit
-- out moves up to qty sellable units out of the SKU (hot-SKU rebalancing: the
-- caller restocks them into another bucket under the same op id).
--
-- Never overwrites a live counter: Load refuses an existing SKU, Restock only INCRBYs.
-- Reply: {status, entry, available after}.
if redis.replicate_commands then pcall(redis.replicate_commands) end

local ttl = tonumber(ARGV[1])
if ttl == nil or ttl < 1 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge/stock: bad ttl')
end
local mode, id, name = ARGV[2], ARGV[3], ARGV[4]
local qty, safety, low, limit = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if (mode ~= 'load' and mode ~= 'restock' and mode ~= 'out') or id == nil or id == '' or name == nil or name == ''
  or qty == nil or qty < 0 or qty ~= math.floor(qty) or (mode ~= 'load' and qty < 1)
  or safety == nil or safety < 0 or low == nil or low < 0 or limit == nil or limit < 0 then
  return redis.error_reply('ERR surge/stock: bad load args')
end

local now = tonumber(redis.call('TIME')[1])
local gen = math.floor(now / ttl)
local jcur = KEYS[1] .. ':' .. gen
local jprev = KEYS[1] .. ':' .. (gen - 1)

local rec = redis.call('HGET', jcur, id) or redis.call('HGET', jprev, id)
if rec then return { 'dup', rec, -1 } end

local exists = redis.call('EXISTS', KEYS[3]) == 1
if mode == 'load' then
  if exists then return { 'exists', '', -1 } end
  redis.call('HSET', KEYS[3], 'avail', qty, 'reserved', 0, 'sold', 0, 'total', qty,
    'safety', safety, 'low', low, 'limit', limit)
  redis.call('SADD', KEYS[4], name)
elseif mode == 'restock' then
  if not exists then return { 'unknown', '', -1 } end
  redis.call('HINCRBY', KEYS[3], 'avail', qty)
  redis.call('HINCRBY', KEYS[3], 'total', qty)
else
  if not exists then return { 'unknown', '', -1 } end
  local v = redis.call('HMGET', KEYS[3], 'avail', 'safety')
  local sellable = tonumber(v[1]) - (tonumber(v[2]) or 0)
  if sellable < qty then qty = sellable end
  if qty <= 0 then return { 'empty', '', sellable } end
  redis.call('HINCRBY', KEYS[3], 'avail', -qty)
  redis.call('HINCRBY', KEYS[3], 'total', -qty)
end

local kind = 'I'
if mode == 'out' then kind = 'O' end
local entry = kind .. '||' .. now .. '|' .. name .. '=' .. qty
redis.call('HSET', jcur, id, entry)
redis.call('EXPIREAT', jcur, (gen + 2) * ttl + 60)
redis.call('XADD', KEYS[2], '*', id, entry)
local v = redis.call('HMGET', KEYS[3], 'avail', 'safety')
return { 'ok', entry, tonumber(v[1]) - (tonumber(v[2]) or 0) }
