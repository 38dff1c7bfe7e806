-- Owner-checked remaining lease.
-- KEYS[1] lock key; ARGV[1] owner token. Returns the PTTL in ms, or -3 when
-- the lock is not held by this token.
if ARGV[1] == '' then
  return redis.error_reply('ERR surge lock pttl: empty token')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PTTL', KEYS[1])
end
return -3
