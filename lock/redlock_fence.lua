-- Redlock fencing write-back: raise this master's counter to the token the
-- grant was given (the maximum over the granting majority), but only while
-- this master still holds the lock for the owner. Holding the lock orders the
-- write-back before any later grant's SET NX on this master.
-- KEYS[1] lock key, KEYS[2] fencing counter; ARGV[1] owner token, ARGV[2] token.
-- Returns 1 written (or already higher), 0 not held here.
local tok = tonumber(ARGV[2])
if ARGV[1] == '' or not tok or tok <= 0 then
  return redis.error_reply('ERR surge redlock fence: bad arguments')
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if tok > cur then
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
