// Command consistency runs the cache consistency harness against a real
// Redis (or Redis Cluster) for every write strategy and prints the
// stale-read table of cache/README.md.
//
//	go run ./cache/cmd/consistency -addr 127.0.0.1:6379 -reads 1000000
//	go run ./cache/cmd/consistency -cluster 127.0.0.1:7001,127.0.0.1:7002 -reads 1000000
//	go run ./cache/cmd/consistency -sql mysql -dsn 'root@tcp(127.0.0.1:3306)/test' -reads 200000
//
// It exits non-zero if lease or write-through shows a stale read or a
// divergent key, or if the baseline shows none (the harness would be blind).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/cache/internal/harness"
	"github.com/surgekit/surge/lock"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "standalone Redis address")
	cluster := flag.String("cluster", "", "comma-separated Redis Cluster addresses (takes precedence)")
	reads := flag.Int64("reads", 1_000_000, "reads per strategy")
	keys := flag.Int("keys", 16, "keys")
	readers := flag.Int("readers", 64, "reader goroutines")
	writers := flag.Int("writers", 4, "writer goroutines")
	delay := flag.Duration("delay", time.Millisecond, "max injected delay between source read and fill")
	pauseEvery := flag.Int("pause-every", 1000, "one load in N pauses for -pause")
	pause := flag.Duration("pause", 20*time.Millisecond, "long pause between source read and fill")
	writeEvery := flag.Duration("write-interval", 2*time.Millisecond, "pause between a writer's writes")
	sqlDriver := flag.String("sql", "", "source of truth in a real SQL table: mysql or sqlite (default: in memory)")
	sqlDSN := flag.String("dsn", "", "SQL DSN, e.g. root@tcp(127.0.0.1:3306)/test or file:/tmp/h.db?_pragma=busy_timeout(5000)")
	lockKind := flag.String("lock", "surge", "write-through lock: surge (lock package, watchdog) or lua (minimal SET NX lock)")
	only := flag.String("strategies", strings.Join(harness.Strategies, ","), "strategies to run")
	flag.Parse()

	var rdb redis.UniversalClient
	if *cluster != "" {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(*cluster, ","), PoolSize: 2 * *readers})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: *addr, PoolSize: 2 * *readers})
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		fmt.Fprintln(os.Stderr, "redis:", err)
		os.Exit(2)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	run := "surge-consistency:" + hex.EncodeToString(b[:]) + ":"

	fmt.Printf("| strategy | reads | stale reads | stale rate | writes | divergent keys | time |\n")
	fmt.Printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	failed := false
	for _, s := range strings.Split(*only, ",") {
		prefix := run + s + ":"
		var locker cache.Locker = &harness.LuaLocker{RDB: rdb, Prefix: prefix}
		if *lockKind == "surge" {
			lc, err := lock.New(rdb, lock.WithPrefix(prefix))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer lc.Close()
			locker = cache.LockClient(lc)
		}
		var src harness.Source
		if *sqlDriver != "" {
			table := "surge_harness_" + hex.EncodeToString(b[:]) + "_" + strings.ReplaceAll(s, "-", "_")
			ss, err := openSQL(ctx, *sqlDriver, *sqlDSN, table, *keys)
			if err != nil {
				fmt.Fprintln(os.Stderr, "sql:", err)
				os.Exit(2)
			}
			defer ss.Close()
			src = ss
		}
		res, err := harness.Run(ctx, harness.Config{
			Source:   src,
			Strategy: s, Client: rdb, Prefix: prefix,
			Locker: locker,
			Keys:   *keys, Readers: *readers, Writers: *writers, Reads: *reads,
			MaxLoadDelay: *delay, PauseEvery: *pauseEvery, Pause: *pause, WriteInterval: *writeEvery,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, s+":", err)
			os.Exit(1)
		}
		fmt.Printf("| %s | %d | %d | %.4f%% | %d | %d / %d | %v |\n", s, res.Reads, res.StaleReads,
			100*res.StaleRate(), res.Writes, res.Divergent, res.Keys, res.Elapsed.Round(time.Millisecond))
		switch s {
		case "lease", "write-through":
			failed = failed || res.StaleReads != 0 || res.Divergent != 0
		case "delete-after-update":
			failed = failed || res.StaleReads == 0
		}
		cleanup(ctx, rdb, prefix)
	}
	if failed {
		fmt.Fprintln(os.Stderr, "FAIL: a strong mode was stale, or the baseline was not")
		os.Exit(1)
	}
}

// cleanup deletes the run's keys (SCAN on every master of a cluster).
func cleanup(ctx context.Context, rdb redis.UniversalClient, prefix string) {
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
		return iter.Err()
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		_ = c.ForEachMaster(ctx, del)
	case *redis.Client:
		_ = del(ctx, c)
	}
}
