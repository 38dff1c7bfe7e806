package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
)

// LuaLocker is a minimal single-instance lock with fencing tokens, enough to
// drive WriteThrough in tests and in cmd/consistency: SET NX PX plus an
// INCR'd fence counter in the same hash tag, token-checked release, no
// watchdog (the lock context ends at the TTL). Production code should use
// surge's lock package.
type LuaLocker struct {
	RDB    redis.UniversalClient
	Prefix string
}

var (
	lockAcquire = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`)
	lockRelease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

type luaHeld struct {
	l      *LuaLocker
	key    string
	token  string
	fence  int64
	ctx    context.Context
	cancel context.CancelFunc
}

// Acquire implements cache.Locker.
func (l *LuaLocker) Acquire(ctx context.Context, name string, ttl time.Duration) (cache.HeldLock, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	key := l.Prefix + "testlock:{" + name + "}"
	for {
		n, err := lockAcquire.Run(ctx, l.RDB, []string{key, key + ":fence"}, token, ttl.Milliseconds()).Int64()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			// No watchdog: the lock context ends at the TTL, as a lost lock would.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttl)
			return &luaHeld{l: l, key: key, token: token, fence: n, ctx: lctx, cancel: cancel}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

func (h *luaHeld) Context() context.Context { return h.ctx }
func (h *luaHeld) Fence() int64             { return h.fence }
func (h *luaHeld) Release(ctx context.Context) error {
	h.cancel()
	n, err := lockRelease.Run(ctx, h.l.RDB, []string{h.key}, h.token).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("lock not held")
	}
	return nil
}
