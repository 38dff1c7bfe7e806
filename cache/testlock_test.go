package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
)

// luaLocker is a minimal single-instance lock with fencing tokens, enough to
// test WriteThrough against the Locker interface: SET NX PX plus an INCR'd
// fence counter in the same hash tag, token-checked release.
type luaLocker struct {
	rdb    redis.UniversalClient
	prefix string
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
	l      *luaLocker
	key    string
	token  string
	fence  int64
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *luaLocker) Acquire(ctx context.Context, name string, ttl time.Duration) (cache.HeldLock, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	key := l.prefix + "testlock:{" + name + "}"
	for {
		n, err := lockAcquire.Run(ctx, l.rdb, []string{key, key + ":fence"}, token, ttl.Milliseconds()).Int64()
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
	n, err := lockRelease.Run(ctx, h.l.rdb, []string{h.key}, h.token).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("lock not held")
	}
	return nil
}

// fixedFenceLocker hands out locks with a chosen fencing token and no mutual
// exclusion, to exercise the fenced rebuild directly.
type fixedFenceLocker struct{ fence int64 }

type fixedHeld struct{ fence int64 }

func (f fixedFenceLocker) Acquire(ctx context.Context, _ string, _ time.Duration) (cache.HeldLock, error) {
	return fixedHeld{f.fence}, nil
}
func (h fixedHeld) Context() context.Context          { return context.Background() }
func (h fixedHeld) Fence() int64                      { return h.fence }
func (h fixedHeld) Release(ctx context.Context) error { return nil }
