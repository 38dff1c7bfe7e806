package idempotency

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts live beside the code; redis.Script runs EVALSHA and falls back to
// EVAL on NOSCRIPT, so a restarted or failed-over server needs no preloading.
var (
	//go:embed claim.lua
	claimSrc string
	//go:embed complete.lua
	completeSrc string
	//go:embed release.lua
	releaseSrc string
	//go:embed extend.lua
	extendSrc string
	//go:embed issue.lua
	issueSrc string

	claimScript    = redis.NewScript(claimSrc)
	completeScript = redis.NewScript(completeSrc)
	releaseScript  = redis.NewScript(releaseSrc)
	extendScript   = redis.NewScript(extendSrc)
	issueScript    = redis.NewScript(issueSrc)
)
