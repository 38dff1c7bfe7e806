package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

var prefixes sync.Map // testing.TB -> string

// Prefix returns the test's own key prefix, e.g. "surgetest:TestDeduct_7f3a9c:".
// It is stable for the life of the test, unique across tests and runs, and made
// only of [A-Za-z0-9_:-] so it is safe in SCAN patterns and inside hash tags.
func Prefix(t testing.TB) string {
	if p, ok := prefixes.Load(t); ok {
		return p.(string)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := t.Name()
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
	p := "surgetest:" + clean + "_" + hex.EncodeToString(b[:]) + ":"
	actual, loaded := prefixes.LoadOrStore(t, p)
	if !loaded {
		t.Cleanup(func() { prefixes.Delete(t) })
	}
	return actual.(string)
}

// Client returns a client for the tier in force (see CurrentTier). Keys under
// Prefix(t) are deleted and the client is closed when the test ends.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	switch CurrentTier() {
	case Cluster:
		return clusterClient(t)
	case Standalone:
		return Single(t)
	}
	return miniClient(t)
}

// Single returns a single-node client: the real server of SURGE_REDIS_ADDR when
// set, otherwise a fresh miniredis. For tests of behaviour that only exists on a
// single node (e.g. a Redlock member) or that compare against a cluster.
func Single(t testing.TB) *redis.Client {
	t.Helper()
	addr := addrs(EnvAddr)
	if len(addr) == 0 {
		return miniClient(t)
	}
	c := redis.NewClient(&redis.Options{Addr: addr[0], PoolSize: 64})
	mustPing(t, c, EnvAddr+"="+addr[0])
	cleanupKeys(t, c, Prefix(t))
	return c
}

// Mini starts a private miniredis for the test and returns it with a client.
// Tests that need miniredis-only controls (FastForward, SetTime) use this.
func Mini(t testing.TB) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: 64})
	t.Cleanup(func() { _ = c.Close() })
	return m, c
}

func miniClient(t testing.TB) *redis.Client {
	_, c := Mini(t)
	return c
}

func clusterClient(t testing.TB) *redis.ClusterClient {
	a := addrs(EnvCluster)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: a, PoolSize: 64})
	mustPing(t, c, EnvCluster+"="+strings.Join(a, ","))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.Ping(ctx).Err()
	}); err != nil {
		t.Fatalf("redistest: cluster master unreachable: %v", err)
	}
	cleanupKeys(t, c, Prefix(t))
	return c
}

// cleanupKeys registers deletion of every key under prefix, then closing c.
func cleanupKeys(t testing.TB, c redis.UniversalClient, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		del := func(ctx context.Context, n *redis.Client) error {
			return deletePrefix(ctx, n, prefix)
		}
		var err error
		switch cc := c.(type) {
		case *redis.ClusterClient:
			err = cc.ForEachMaster(ctx, del)
		case *redis.Client:
			err = del(ctx, cc)
		}
		if err != nil {
			t.Logf("redistest: cleanup of %s*: %v", prefix, err)
		}
		_ = c.Close()
	})
}

// deletePrefix removes every key of one node that starts with prefix. UNLINK is
// issued per key so that it works on a cluster node whatever the slots.
func deletePrefix(ctx context.Context, n *redis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := n.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			pipe := n.Pipeline()
			for _, k := range keys {
				pipe.Unlink(ctx, k)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("unlink: %w", err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
