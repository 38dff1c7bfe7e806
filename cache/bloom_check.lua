-- Test bits in one Bloom shard: 1 if all are set, else 0.
-- KEYS[1] shard bitmap; ARGV bit offsets.
for i = 1, #ARGV do
  local o = tonumber(ARGV[i])
  if o == nil or o < 0 or o >= 4294967296 or o ~= math.floor(o) then
    return redis.error_reply('ERR surge cache: bad bit offset')
  end
  if redis.call('GETBIT', KEYS[1], o) == 0 then return 0 end
end
return 1
