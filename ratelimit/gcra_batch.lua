-- Many GCRA steps in one call, in order, with one server clock reading. Each step
-- is exactly gcra.lua's on its own key; a key may appear more than once.
-- KEYS[i]  the i-th TAT key (all in one hash slot on a cluster)
-- ARGV[4*(i-1)+1 .. 4*i]  interval_us, burst, n, dry flag of step i (as gcra.lua)
-- Returns a flat array: allowed, remaining, retry_after_us, reset_after_us per step.
if #ARGV ~= 4 * #KEYS or #KEYS == 0 then
  return redis.error_reply('ERR ratelimit: want 4 arguments per key')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #KEYS do
  local b = 4 * (i - 1)
  local iv = tonumber(ARGV[b + 1])
  local burst = tonumber(ARGV[b + 2])
  local n = tonumber(ARGV[b + 3])
  local dry = ARGV[b + 4]
  if not iv or iv < 1 or iv ~= math.floor(iv) then
    return redis.error_reply('ERR ratelimit: bad interval')
  end
  if not burst or burst < 1 or burst ~= math.floor(burst) then
    return redis.error_reply('ERR ratelimit: bad burst')
  end
  if not n or n < 1 or n > burst or n ~= math.floor(n) then
    return redis.error_reply('ERR ratelimit: bad n')
  end
  if iv * burst > 1125899906842624 then
    return redis.error_reply('ERR ratelimit: interval*burst too large')
  end
  if dry ~= '0' and dry ~= '1' then
    return redis.error_reply('ERR ratelimit: bad dry flag')
  end
  local tau = iv * burst
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if not tat or tat < now then
    tat = now
  end
  local newtat = tat + iv * n
  local allow_at = newtat - tau
  local o = #out
  if now < allow_at then
    local rem = math.floor((now + tau - tat) / iv)
    if rem < 0 then rem = 0 end
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 0, rem, allow_at - now, tat - now
  elseif dry == '1' then
    local rem = math.floor((now + tau - tat) / iv)
    if rem < 0 then rem = 0 end
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, rem, 0, tat - now
  else
    local ttl = math.ceil((newtat - now) / 1000)
    if ttl < 1 then ttl = 1 end
    redis.call('SET', KEYS[i], string.format('%d', newtat), 'PX', ttl)
    local rem = math.floor((now + tau - newtat) / iv)
    if rem < 0 then rem = 0 end
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, rem, 0, newtat - now
  end
end
return out
