package lock

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// Scripts run with EVALSHA and fall back to EVAL on NOSCRIPT (redis.Script).
var (
	//go:embed acquire.lua
	acquireSrc string
	//go:embed release.lua
	releaseSrc string
	//go:embed refresh.lua
	refreshSrc string
	//go:embed pttl.lua
	pttlSrc string
	//go:embed redlock_acquire.lua
	redlockAcquireSrc string
	//go:embed redlock_fence.lua
	redlockFenceSrc string
)

type scripts struct {
	acquire, release, refresh, pttl, redlockAcquire, redlockFence *redis.Script
}

func newScripts() *scripts {
	return &scripts{
		acquire:        redis.NewScript(acquireSrc),
		release:        redis.NewScript(releaseSrc),
		refresh:        redis.NewScript(refreshSrc),
		pttl:           redis.NewScript(pttlSrc),
		redlockAcquire: redis.NewScript(redlockAcquireSrc),
		redlockFence:   redis.NewScript(redlockFenceSrc),
	}
}
