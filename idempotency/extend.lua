-- extend: the heartbeat. Renew the lease only while it is still this owner's.
-- KEYS[1] lease, ARGV[1] owner id, ARGV[2] lease in ms
-- Reply: 1 renewed, 0 lost (expired or taken over)
local ms = tonumber(ARGV[2])
if ARGV[1] == nil or ARGV[1] == '' or ms == nil or ms <= 0 then
  return redis.error_reply('ERR idempotency extend: bad arguments')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ms)
  return 1
end
return 0
