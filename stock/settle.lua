-- settle.lua: Confirm (C), Release (L), Revert (V) and CheckBack (Q) of one op.
--
-- KEYS[1]  journal base key  <prefix>stock:{g}:j
-- KEYS[2]  outbox stream     <prefix>stock:{g}:o
-- KEYS[3]  group base        <prefix>stock:{g}:   (SKU keys are built as base..'s:'..sku and
--          base..'u:'..sku: the SKUs of an op are only known from its journal entry, and
--          every one of them carries the same hash tag, so they live in the same slot)
-- ARGV[1]  journal TTL seconds, ARGV[2] action C|L|V|Q, ARGV[3] op id
--
-- Journal entry: state|user|time|sku=qty,sku=qty with state one of
--   D deducted (sold), R reserved, C confirmed, L released, V reverted, T tombstone, I stock in,
--   P passed (a hot-SKU bucket that refused the op for lack of stock).
-- Reply: {status, entry after the call, state before the call ('' when unknown)}.
if redis.replicate_commands then pcall(redis.replicate_commands) end

local ttl = tonumber(ARGV[1])
if ttl == nil or ttl < 1 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge/stock: bad ttl')
end
local action, id = ARGV[2], ARGV[3]
if (action ~= 'C' and action ~= 'L' and action ~= 'V' and action ~= 'Q') or id == nil or id == '' then
  return redis.error_reply('ERR surge/stock: bad settle args')
end

local now = tonumber(redis.call('TIME')[1])
local gen = math.floor(now / ttl)
local jcur = KEYS[1] .. ':' .. gen
local jprev = KEYS[1] .. ':' .. (gen - 1)

local rec = redis.call('HGET', jcur, id)
local inprev = false
if not rec then
  rec = redis.call('HGET', jprev, id)
  inprev = rec ~= false
end

local function save(entry)
  if inprev then redis.call('HDEL', jprev, id) end
  redis.call('HSET', jcur, id, entry)
  redis.call('EXPIREAT', jcur, (gen + 2) * ttl + 60)
end

if not rec then
  if action == 'C' then return { 'unknown', '', '' } end
  -- Release, Revert and CheckBack of an op never seen: write a tombstone so that the
  -- op, should it still arrive, is refused (null compensation, anti-hanging).
  local entry = 'T||' .. now .. '|'
  save(entry)
  return { 'tomb', entry, '' }
end

local state = string.sub(rec, 1, 1)
-- P (a hot-SKU bucket the op passed for lack of stock) is final like a tombstone here.
local b1 = string.find(rec, '|', 1, true)
local b2 = string.find(rec, '|', b1 + 1, true)
local b3 = string.find(rec, '|', b2 + 1, true)
local user = string.sub(rec, b1 + 1, b2 - 1)
local items = string.sub(rec, b3 + 1)

if action == 'Q' then
  if state == 'D' or state == 'R' or state == 'C' or state == 'I' then return { 'succeeded', rec, state } end
  return { 'failed', rec, state }
end

local target = action
if state == target or ((action == 'L' or action == 'V') and (state == 'T' or state == 'P')) then
  return { 'dup', rec, state }
end
local ok = (action == 'C' and state == 'R') or (action == 'L' and state == 'R')
  or (action == 'V' and (state == 'D' or state == 'R' or state == 'C' or state == 'L'))
if not ok then return { 'state', rec, state } end

-- Apply the counter moves of the transition to every SKU of the op.
for part in string.gmatch(items, '[^,]+') do
  local eq = string.find(part, '=', 1, true)
  local name, q = string.sub(part, 1, eq - 1), tonumber(string.sub(part, eq + 1))
  local key = KEYS[3] .. 's:' .. name
  if action == 'C' then
    redis.call('HINCRBY', key, 'reserved', -q)
    redis.call('HINCRBY', key, 'sold', q)
  elseif state ~= 'L' then
    -- release, or revert of a deduct/reserve/confirm: the units go back on sale
    redis.call('HINCRBY', key, 'avail', q)
    if state == 'R' then redis.call('HINCRBY', key, 'reserved', -q)
    else redis.call('HINCRBY', key, 'sold', -q) end
    if user ~= '' then
      local ukey = KEYS[3] .. 'u:' .. name
      if redis.call('HEXISTS', ukey, user) == 1 then
        if redis.call('HINCRBY', ukey, user, -q) <= 0 then redis.call('HDEL', ukey, user) end
      end
    end
  end
end

local entry = target .. string.sub(rec, 2)
save(entry)
local kind = target
if action == 'V' then kind = 'V' .. state end
redis.call('XADD', KEYS[2], '*', id, kind .. string.sub(rec, 2))
return { 'ok', entry, state }
