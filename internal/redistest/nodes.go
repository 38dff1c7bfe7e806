package redistest

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Nodes returns n independent masters for Redlock tests: the first n servers of
// SURGE_REDIS_NODES when it is set (fewer than n listed is a failure), otherwise
// n private miniredis instances. Keys under Prefix(t) are removed at cleanup.
func Nodes(t testing.TB, n int) []*redis.Client {
	t.Helper()
	if n <= 0 {
		t.Fatalf("redistest: Nodes(%d): need at least one node", n)
	}
	a := addrs(EnvNodes)
	if a == nil {
		out := make([]*redis.Client, n)
		for i := range out {
			out[i] = miniClient(t)
		}
		return out
	}
	if len(a) < n {
		t.Fatalf("redistest: %s lists %d servers, the test needs %d", EnvNodes, len(a), n)
	}
	out := make([]*redis.Client, n)
	for i := range out {
		c := redis.NewClient(&redis.Options{Addr: a[i], PoolSize: 32})
		mustPing(t, c, fmt.Sprintf("%s[%d]=%s", EnvNodes, i, a[i]))
		cleanupKeys(t, c, Prefix(t))
		out[i] = c
	}
	return out
}

// RealNodes reports whether Nodes hands out real servers.
func RealNodes() bool { return addrs(EnvNodes) != nil }
