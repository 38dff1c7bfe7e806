-- Set bits in one Bloom shard. KEYS[1] shard bitmap; ARGV bit offsets.
for i = 1, #ARGV do
  local o = tonumber(ARGV[i])
  if o == nil or o < 0 or o >= 4294967296 or o ~= math.floor(o) then
    return redis.error_reply('ERR surge cache: bad bit offset')
  end
end
for i = 1, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], 1) end
return #ARGV
