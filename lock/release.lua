-- Compare-and-delete: only the owner's token removes the lock.
-- KEYS[1] lock key; ARGV[1] owner token. Returns 1 deleted, 0 not held.
if ARGV[1] == '' then
  return redis.error_reply('ERR surge lock release: empty token')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
