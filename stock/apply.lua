-- apply.lua: Deduct / Reserve for a batch of operations on one group (one hash tag).
--
-- KEYS[1]   journal base key   <prefix>stock:{g}:j      (generation keys are KEYS[1]..':'..gen)
-- KEYS[2]   outbox stream      <prefix>stock:{g}:o
-- KEYS[2+2i-1], KEYS[2+2i]     SKU hash and per-user hash of the i-th SKU of this batch
-- ARGV[1]   journal TTL in seconds (>0)
-- ARGV[2]   number of SKUs n, then ARGV[3..2+n] the SKU names (same order as the keys)
-- then      number of ops m, then per op: id, mode (D|R), user, k, then k pairs (sku index, qty)
--           Lower-case d|r is a hot-SKU bucket probe: a refusal for lack of stock is
--           journaled as P (passed), so the op can never be applied in this bucket later
--           and a retry or a check-back walking the buckets in the same order finds it.
--
-- Every op is all-or-nothing over its items and is answered individually. The
-- journal is read FIRST (both live generations, for the whole batch in two HMGETs),
-- so a repeated op id returns what happened the first time and never touches stock.
-- The batch pays the journal write (one HSET), its expiry and the outbox XADD once.
--
-- Reply: flat list, 4 per op: status, detail (the journal entry for ok and dup, else
-- the SKU that refused), low (0|1), sellable left of the SKU that decided the status
-- (or of the first SKU; -1 when unknown).
if redis.replicate_commands then pcall(redis.replicate_commands) end

local ttl = tonumber(ARGV[1])
if ttl == nil or ttl < 1 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge/stock: bad ttl')
end
local nsku = tonumber(ARGV[2])
if nsku == nil or nsku < 1 or #KEYS ~= 2 + 2 * nsku then
  return redis.error_reply('ERR surge/stock: bad sku count')
end
local names = {}
for i = 1, nsku do names[i] = ARGV[2 + i] end
local p = 3 + nsku
local nops = tonumber(ARGV[p])
if nops == nil or nops < 1 then
  return redis.error_reply('ERR surge/stock: bad op count')
end
p = p + 1

local ops, ids = {}, {}
for o = 1, nops do
  local op = { id = ARGV[p], mode = ARGV[p + 1], user = ARGV[p + 2] }
  local k = tonumber(ARGV[p + 3])
  if op.id == nil or op.id == '' or (op.mode ~= 'D' and op.mode ~= 'R' and op.mode ~= 'd' and op.mode ~= 'r') or op.user == nil or string.find(op.user, '|', 1, true) or k == nil or k < 1 then
    return redis.error_reply('ERR surge/stock: bad op')
  end
  p = p + 4
  op.items = {}
  for j = 1, k do
    local si, q = tonumber(ARGV[p]), tonumber(ARGV[p + 1])
    if si == nil or si < 1 or si > nsku or q == nil or q < 1 or q ~= math.floor(q) then
      return redis.error_reply('ERR surge/stock: bad item')
    end
    op.items[j] = { si, q }
    p = p + 2
  end
  ops[o] = op
  ids[o] = op.id
end

local now = tonumber(redis.call('TIME')[1])
local gen = math.floor(now / ttl)
local jcur = KEYS[1] .. ':' .. gen
local jprev = KEYS[1] .. ':' .. (gen - 1)

-- Journal first: a known op id is answered from the journal alone.
local cur = redis.call('HMGET', jcur, unpack(ids))
local prev = redis.call('HMGET', jprev, unpack(ids))

-- SKU state, read once per batch.
local sku = {}
for i = 1, nsku do
  local v = redis.call('HMGET', KEYS[1 + 2 * i], 'avail', 'reserved', 'sold', 'safety', 'low', 'limit')
  if v[1] then
    sku[i] = { avail = tonumber(v[1]), reserved = tonumber(v[2]), sold = tonumber(v[3]),
      safety = tonumber(v[4]) or 0, low = tonumber(v[5]) or 0, limit = tonumber(v[6]) or 0,
      dirty = false, bought = {} }
  end
end

local function sellable(s) return s.avail - s.safety end

local seen, jf, ob, out = {}, {}, {}, {}
for o = 1, nops do
  local op = ops[o]
  local rec = seen[op.id] or cur[o] or prev[o]
  if rec then
    table.insert(out, 'dup'); table.insert(out, rec); table.insert(out, 0); table.insert(out, -1)
  else
    local status, at = 'ok', op.items[1][1]
    for _, it in ipairs(op.items) do
      local s = sku[it[1]]
      if not s then status, at = 'unknown', it[1]; break end
      if it[2] > sellable(s) then
        if it[2] <= s.avail then status = 'safety' else status = 'soldout' end
        at = it[1]
        break
      end
      if s.limit > 0 then
        if op.user == '' then status, at = 'nouser', it[1]; break end
        local b = s.bought[op.user]
        if b == nil then
          b = tonumber(redis.call('HGET', KEYS[2 + 2 * it[1]], op.user) or '0')
          s.bought[op.user] = b
        end
        if b + it[2] > s.limit then status, at = 'limit', it[1]; break end
      end
    end
    local low = 0
    local mode = string.upper(op.mode)
    if status ~= 'ok' and mode ~= op.mode and (status == 'soldout' or status == 'safety') then
      local entry = 'P|' .. op.user .. '|' .. now .. '|'
      seen[op.id] = entry
      table.insert(jf, op.id); table.insert(jf, entry)
    end
    if status == 'ok' then
      local parts = {}
      for _, it in ipairs(op.items) do
        local s = sku[it[1]]
        s.avail = s.avail - it[2]
        if mode == 'D' then s.sold = s.sold + it[2] else s.reserved = s.reserved + it[2] end
        s.dirty = true
        if s.limit > 0 then
          s.bought[op.user] = s.bought[op.user] + it[2]
          redis.call('HINCRBY', KEYS[2 + 2 * it[1]], op.user, it[2])
        end
        if s.low > 0 and s.avail <= s.low then low = 1 end
        table.insert(parts, names[it[1]] .. '=' .. it[2])
      end
      local entry = mode .. '|' .. op.user .. '|' .. now .. '|' .. table.concat(parts, ',')
      seen[op.id] = entry
      table.insert(jf, op.id); table.insert(jf, entry)
      table.insert(ob, op.id); table.insert(ob, entry)
    end
    local rem = -1
    if sku[at] then rem = sellable(sku[at]) end
    local detail = names[at]
    if status == 'ok' then detail = seen[op.id] end
    table.insert(out, status); table.insert(out, detail); table.insert(out, low); table.insert(out, rem)
  end
end

for i = 1, nsku do
  local s = sku[i]
  if s and s.dirty then
    redis.call('HSET', KEYS[1 + 2 * i], 'avail', s.avail, 'reserved', s.reserved, 'sold', s.sold)
  end
end
if #jf > 0 then
  redis.call('HSET', jcur, unpack(jf))
  redis.call('EXPIREAT', jcur, (gen + 2) * ttl + 60)
end
if #ob > 0 then redis.call('XADD', KEYS[2], '*', unpack(ob)) end
return out
