-- Point a dedupe entry at a code unless it already points at another one.
-- KEYS[1] dedupe key
-- ARGV[1] stale code that may be replaced ('' = only when absent)
-- ARGV[2] new code, ARGV[3] PX in ms (0 = no expiry)
-- Returns the code the entry points at afterwards.
local px = tonumber(ARGV[3])
if ARGV[2] == '' or not px or px < 0 or px ~= math.floor(px) then
  return redis.error_reply('ERR shorturl: bad dedupe arguments')
end
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then
  return cur
end
if px > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', px)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return ARGV[2]
