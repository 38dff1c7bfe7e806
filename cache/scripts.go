package cache

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lease_get.lua
	leaseGetSrc string
	//go:embed lease_fill.lua
	leaseFillSrc string
	//go:embed fenced_set.lua
	fencedSetSrc string
	//go:embed dd_schedule.lua
	ddScheduleSrc string
	//go:embed dd_claim.lua
	ddClaimSrc string
	//go:embed dd_ack.lua
	ddAckSrc string
	//go:embed dd_nack.lua
	ddNackSrc string
)

// Scripts are immutable values (source + SHA1); sharing them is not shared
// mutable state. Run uses EVALSHA and falls back to EVAL on NOSCRIPT.
var (
	leaseGetScript   = redis.NewScript(leaseGetSrc)
	leaseFillScript  = redis.NewScript(leaseFillSrc)
	fencedSetScript  = redis.NewScript(fencedSetSrc)
	ddScheduleScript = redis.NewScript(ddScheduleSrc)
	ddClaimScript    = redis.NewScript(ddClaimSrc)
	ddAckScript      = redis.NewScript(ddAckSrc)
	ddNackScript     = redis.NewScript(ddNackSrc)
)
