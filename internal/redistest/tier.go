package redistest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables that select the tier.
const (
	EnvAddr    = "SURGE_REDIS_ADDR"
	EnvCluster = "SURGE_REDIS_CLUSTER"
	EnvNodes   = "SURGE_REDIS_NODES"
)

// Tier names the kind of Redis a test is talking to.
type Tier int

const (
	// Miniredis is an in-process miniredis: fast, but its Lua and command semantics are
	// an approximation of Redis's.
	Miniredis Tier = iota
	// Standalone is a real single Redis server (SURGE_REDIS_ADDR).
	Standalone
	// Cluster is a real Redis Cluster (SURGE_REDIS_CLUSTER).
	Cluster
)

func (t Tier) String() string {
	switch t {
	case Miniredis:
		return "miniredis"
	case Standalone:
		return "standalone"
	case Cluster:
		return "cluster"
	}
	return "unknown"
}

// CurrentTier reports which tier Client hands out under the current environment.
func CurrentTier() Tier {
	switch {
	case addrs(EnvCluster) != nil:
		return Cluster
	case os.Getenv(EnvAddr) != "":
		return Standalone
	}
	return Miniredis
}

// Real reports whether Client talks to a real server (standalone or cluster).
func Real() bool { return CurrentTier() != Miniredis }

func addrs(env string) []string {
	var out []string
	for _, a := range strings.Split(os.Getenv(env), ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// mustPing fails the test when a server it was told to use does not answer.
func mustPing(t testing.TB, c redis.UniversalClient, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: %s is unreachable: %v (a requested tier never skips)", what, err)
	}
}
