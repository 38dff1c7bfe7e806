-- Reserve one segment of IDs, never below the high-water mark.
-- KEYS[1] counter, KEYS[2] high-water mark (same hash tag)
-- ARGV[1] step: IDs to reserve (1 .. 2^40)
-- ARGV[2] floor: highest ID the caller knows may have been used (0 .. 2^53)
-- Returns {hi, skipped}: the segment is (hi-step, hi]; skipped > 0 means the
-- counter was found below the mark and was moved past it.
local step = tonumber(ARGV[1])
local floor = tonumber(ARGV[2])
if not step or step < 1 or step > 1099511627776 or step ~= math.floor(step) then
  return redis.error_reply('ERR shorturl: bad step')
end
if not floor or floor < 0 or floor > 9007199254740991 or floor ~= math.floor(floor) then
  return redis.error_reply('ERR shorturl: bad floor')
end
local hwm = redis.call('GET', KEYS[2])
if hwm then
  hwm = tonumber(hwm)
  if not hwm then
    return redis.error_reply('ERR shorturl: high-water mark is not a number')
  end
  if hwm > floor then floor = hwm end
end
local hi = redis.call('INCRBY', KEYS[1], step)
local skipped = 0
if hi - step < floor then
  skipped = floor - (hi - step)
  hi = floor + step
  redis.call('SET', KEYS[1], string.format('%d', hi))
end
if hi > 9007199254740991 then
  return redis.error_reply('ERR shorturl: counter beyond 2^53')
end
redis.call('SET', KEYS[2], string.format('%d', hi))
return {hi, skipped}
