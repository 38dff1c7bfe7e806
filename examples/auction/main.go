// Command auction is a live auction service composed from surge: reads of the
// auction state come from a write-through cache (cache.WriteThrough under a
// lock.Client lock), every bid is fenced in SQL by the lock's fencing token, bids
// are rate limited per user (ratelimit) and idempotent by bid id (idempotency).
//
//	go run ./examples/auction                 # :8090, embedded miniredis + SQLite
//	go run ./examples/auction -load 3s        # read/bid load run: cache vs direct SQL
//
// See README.md for the write path, the flags and the measured numbers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/examples/internal/exampleutil"
	"github.com/surgekit/surge/ratelimit"
)

type options struct {
	addr         string
	redisAddr    string
	redisCluster string
	mysqlDSN     string
	sqlitePath   string
	prefix       string
	logLevel     string
	seed         bool
	load         time.Duration
	loadWorkers  int
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("auction", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", env("AUCTION_ADDR", "127.0.0.1:8090"), "listen address (env AUCTION_ADDR)")
	fs.StringVar(&o.redisAddr, "redis", env("AUCTION_REDIS", ""), "real Redis host:port (env AUCTION_REDIS); default: embedded miniredis")
	fs.StringVar(&o.redisCluster, "redis-cluster", env("AUCTION_REDIS_CLUSTER", ""), "Redis Cluster seed addrs, comma separated (env AUCTION_REDIS_CLUSTER)")
	fs.StringVar(&o.mysqlDSN, "mysql", env("AUCTION_MYSQL", ""), "MySQL/MariaDB DSN, e.g. root@tcp(127.0.0.1:3306)/auction (env AUCTION_MYSQL); default: embedded SQLite")
	fs.StringVar(&o.sqlitePath, "sqlite", env("AUCTION_SQLITE", ""), "SQLite file; default: a temporary file removed on exit")
	fs.StringVar(&o.prefix, "prefix", env("AUCTION_PREFIX", "surge:auction:"), "Redis key prefix")
	fs.StringVar(&o.logLevel, "log-level", env("AUCTION_LOG_LEVEL", "info"), "debug|info|warn|error")
	fs.BoolVar(&o.seed, "seed", true, "create a sample auction \"demo\" ending in 5 minutes")
	fs.DurationVar(&o.load, "load", 0, "run a load test of this duration per side (cache reads, SQL reads, bids), print the report and exit")
	fs.IntVar(&o.loadWorkers, "load-workers", 32, "load: concurrent clients")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "auction:", err)
		os.Exit(1)
	}
}

// backends opens Redis and SQL as selected; cleanup closes them.
func backends(ctx context.Context, o options, log *slog.Logger) (redis.UniversalClient, *Store, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	rdb, closeRedis, err := exampleutil.OpenRedis(ctx, o.redisAddr, o.redisCluster, 128, log)
	if err != nil {
		return nil, nil, cleanup, err
	}
	cleanups = append(cleanups, closeRedis)
	var store *Store
	if o.mysqlDSN != "" {
		store, err = OpenMySQL(ctx, o.mysqlDSN)
		log.Info("database", "driver", "mysql")
	} else {
		path := o.sqlitePath
		if path == "" {
			// The embedded Redis forgets the lock fencing counters on exit; so must the
			// default database, or its stored fences would refuse every new write.
			dir, derr := os.MkdirTemp("", "auction-")
			if derr != nil {
				return nil, nil, cleanup, derr
			}
			cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
			path = filepath.Join(dir, "auction.db")
		}
		store, err = OpenSQLite(ctx, path)
		log.Info("database", "driver", "sqlite", "path", path)
	}
	if err != nil {
		return nil, nil, cleanup, fmt.Errorf("database: %w", err)
	}
	cleanups = append(cleanups, func() { _ = store.Close() })
	return rdb, store, cleanup, nil
}

func run(o options) error {
	log := exampleutil.NewLogger(o.logLevel)
	if o.load > 0 && o.logLevel == "info" {
		log = exampleutil.NewLogger("warn")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rdb, store, cleanup, err := backends(ctx, o, log)
	defer cleanup()
	if err != nil {
		return err
	}
	cfg := Config{Prefix: o.prefix, Logger: log}
	if o.load > 0 {
		cfg.BidLimit = ratelimit.PerSecond(1_000_000) // the load run measures the write path, not the limiter
	}
	svc, err := NewService(cfg, rdb, store)
	if err != nil {
		return err
	}
	svc.Start()
	if o.load > 0 {
		lerr := runLoad(ctx, svc, o.load, o.loadWorkers, os.Stdout)
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return errors.Join(lerr, svc.Close(cctx))
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 5 * time.Second}
	// Shutdown waits for open connections; SSE streams end when the service stops.
	srv.RegisterOnShutdown(svc.stopStreams)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	if o.seed {
		a, err := svc.Create(ctx, CreateRequest{ID: "demo-" + time.Now().Format("150405"), Title: "Vintage mechanical watch", StartPrice: 100, Increment: 5, DurationMs: 5 * 60 * 1000})
		if err != nil {
			return err
		}
		log.Info("sample auction created", "page", base+"/?auction="+a.ID)
	}
	log.Info("auction listening", "url", base)
	select {
	case <-ctx.Done():
	case err := <-srvErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := svc.Close(sctx); err != nil {
		return err
	}
	log.Info("bye")
	return nil
}
