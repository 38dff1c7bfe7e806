-- Single-node acquire: SET NX PX plus the fencing counter, atomically.
-- KEYS[1] lock key, KEYS[2] fencing counter (same hash tag as KEYS[1])
-- ARGV[1] owner token (non-empty), ARGV[2] lease in ms (positive integer)
-- Returns the new fencing token (> 0) when obtained, 0 when another owner holds it.
local ttl = tonumber(ARGV[2])
if ARGV[1] == '' or not ttl or ttl <= 0 or ttl ~= math.floor(ttl) then
  return redis.error_reply('ERR surge lock acquire: bad arguments')
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then
  return 0
end
-- INCR only on success: the counter counts grants, so a grant's token is
-- larger than every earlier grant's on this key.
return redis.call('INCR', KEYS[2])
