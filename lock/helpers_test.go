package lock

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

// tierClient returns a single-node lock Client on the tier in force and the
// raw Redis client under it.
func tierClient(t testing.TB, opts ...Option) (*Client, redis.UniversalClient) {
	t.Helper()
	rdb := redistest.Client(t)
	c, err := New(rdb, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, rdb
}

// redlockClient returns a Redlock Client over n masters (real with
// SURGE_REDIS_NODES, miniredis otherwise) and the masters.
func redlockClient(t testing.TB, n int, opts ...Option) (*Client, []*redis.Client) {
	t.Helper()
	nodes := redistest.Nodes(t, n)
	u := make([]redis.UniversalClient, n)
	for i, c := range nodes {
		u[i] = c
	}
	c, err := NewRedlock(u, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nodes
}

func serversClient(t testing.TB, servers []*redistest.RedisServer, opts ...Option) *Client {
	t.Helper()
	u := make([]redis.UniversalClient, len(servers))
	for i, s := range servers {
		u[i] = patientClient(t, s)
	}
	c, err := NewRedlock(u, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30e9)
	t.Cleanup(cancel)
	return ctx
}

// patientClient talks to a private server with go-redis's default read
// timeout (3s) instead of Server.Client's 500ms: the package's own budgets
// and deadlines bound every operation, and a loaded machine must not turn a
// slow reply into a test failure. No retries, so a stopped server fails fast.
func patientClient(t testing.TB, s *redistest.RedisServer) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
