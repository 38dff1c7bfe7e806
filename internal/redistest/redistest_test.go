package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// incrBoth increments two keys atomically and returns both values.
var incrBoth = redis.NewScript(`
local a = redis.call('INCRBY', KEYS[1], ARGV[1])
local b = redis.call('INCRBY', KEYS[2], ARGV[1])
return {a, b}`)

func TestScriptRunsOnTier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := Client(t)
	p := Prefix(t)
	t.Logf("tier: %s", CurrentTier())
	keys := []string{p + "{h}:a", p + "{h}:b"}
	for i := 1; i <= 3; i++ {
		v, err := incrBoth.Run(ctx, c, keys, 2).Int64Slice()
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if v[0] != int64(2*i) || v[1] != int64(2*i) {
			t.Fatalf("run %d: got %v, want [%d %d]", i, v, 2*i, 2*i)
		}
	}
}

func TestCrossSlotOnlyOnCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := Client(t)
	p := Prefix(t)
	// "a" and "b" hash to different slots (15495 and 3300); with a shared tag they
	// hash to one.
	_, err := incrBoth.Run(ctx, c, []string{p + "a", p + "b"}, 1).Result()
	if CurrentTier() == Cluster {
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Fatalf("cluster: keys without a shared tag: err = %v, want CROSSSLOT", err)
		}
	} else if err != nil {
		t.Fatalf("%s: %v", CurrentTier(), err)
	}
	if _, err := incrBoth.Run(ctx, c, []string{p + "{t}a", p + "{t}b"}, 1).Result(); err != nil {
		t.Fatalf("keys with a shared tag: %v", err)
	}
}

func TestPrefixIsolationAndCleanup(t *testing.T) {
	t.Parallel()
	var p1, p2 string
	t.Run("one", func(t *testing.T) { p1 = Prefix(t) })
	t.Run("two", func(t *testing.T) { p2 = Prefix(t) })
	if p1 == p2 || p1 == "" {
		t.Fatalf("prefixes not unique: %q %q", p1, p2)
	}
	if strings.ContainsAny(p1, "{}*?[]") {
		t.Fatalf("prefix %q has glob or tag characters", p1)
	}
	if Prefix(t) != Prefix(t) {
		t.Fatal("prefix not stable within a test")
	}
	// Keys written in a subtest are gone after it ends (real tiers share a server).
	var leaked string
	var outer redis.UniversalClient
	if Real() {
		outer = Client(t)
	}
	t.Run("writes", func(t *testing.T) {
		c := Client(t)
		leaked = Prefix(t) + "{x}k"
		if err := c.Set(context.Background(), leaked, "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if outer != nil {
		n, err := outer.Exists(context.Background(), leaked).Result()
		if err != nil || n != 0 {
			t.Fatalf("key %s survived its test: exists=%d err=%v", leaked, n, err)
		}
	}
}

func TestNodesAreIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nodes := Nodes(t, 5)
	k := Prefix(t) + "n"
	if err := nodes[0].Set(ctx, k, "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes[1:] {
		if v, err := n.Exists(ctx, k).Result(); err != nil || v != 0 {
			t.Fatalf("node %d sees node 0's key: %d %v", i+1, v, err)
		}
	}
}

func TestServerSurvivesStopStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := Server(t, WithAOF())
	c := s.Client()
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded on a killed server")
	}
	s.Start()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v1" {
		t.Fatalf("after kill+start with AOF: %q %v", v, err)
	}
	s.Stop()
	s.Start()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v1" {
		t.Fatalf("after stop+start: %q %v", v, err)
	}

	// Paused: commands time out; after thaw they work again.
	done := s.Pause(1500 * time.Millisecond)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping answered by a frozen server")
	}
	<-done
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("after thaw: %v", err)
	}
}
