package lock

import (
	"context"
	"testing"

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
		u[i] = s.Client()
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
