-- claim: the one atomic step that decides who runs.
-- KEYS[1] record hash  (fields: s state, f fingerprint, o owner, r result, e failure flag,
--                        m failure message, k pre-order token)
-- KEYS[2] lease string (value: owner id; its PX is the lease)
-- ARGV[1] fingerprint (for tokens: the token itself)
-- ARGV[2] owner id of this attempt
-- ARGV[3] lease in ms
-- ARGV[4] retention of the record in ms
-- ARGV[5] mode: 'k' plain key, 't' pre-order token (the record must have been issued)
-- Replies: {'claimed'} | {'takeover'} | {'busy', pttl} | {'mismatch'} | {'unknown'}
--          | {'done', result, failed(0|1), message}
local fp, owner, mode = ARGV[1], ARGV[2], ARGV[5]
local lease, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
if fp == nil or fp == '' or owner == nil or owner == '' or lease == nil or lease <= 0
    or ttl == nil or ttl <= 0 or (mode ~= 'k' and mode ~= 't') then
  return redis.error_reply('ERR idempotency claim: bad arguments')
end
local st = redis.call('HMGET', KEYS[1], 's', 'f', 'k')
local s, f, k = st[1], st[2], st[3]
if mode == 't' and (not s or k ~= fp) then
  -- never issued, expired, or issued to someone else: a token is not a key one may invent
  return {'unknown'}
end
if not s or s == 'i' then
  redis.call('HSET', KEYS[1], 's', 'p', 'f', fp, 'o', owner)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('SET', KEYS[2], owner, 'PX', lease)
  return {'claimed'}
end
if f ~= fp then
  return {'mismatch'}
end
if s == 'd' then
  local r = redis.call('HMGET', KEYS[1], 'r', 'e', 'm')
  local failed = 0
  if r[2] then failed = 1 end
  return {'done', r[1] or '', failed, r[3] or ''}
end
-- s == 'p': someone runs it. Busy while their lease lives, ours once it lapsed.
local pttl = redis.call('PTTL', KEYS[2])
if pttl == -1 then
  pttl = lease
end
if pttl > 0 then
  return {'busy', pttl}
end
redis.call('HSET', KEYS[1], 'o', owner)
redis.call('SET', KEYS[2], owner, 'PX', lease)
return {'takeover'}
