package cache_test

import (
	"context"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/cache/internal/harness"
)

type luaLocker = harness.LuaLocker

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
