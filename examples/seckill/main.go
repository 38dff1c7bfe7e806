// Command seckill is a flash-sale (秒杀) service composed from surge.
//
//	go run ./examples/seckill            # server on :8080, embedded miniredis + SQLite
//	go run ./examples/seckill -demo      # the same, plus a load run and its report
//
// See README.md for the request path, the flags and the measured numbers.
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
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/examples/internal/exampleutil"
)

type options struct {
	addr           string
	redisAddr      string
	redisCluster   string
	mysqlDSN       string
	sqlitePath     string
	adminToken     string
	prefix         string
	seed           bool
	redisRateLimit bool
	logLevel       string
	cpuProfile     string
	demo           demoOptions
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("seckill", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", env("SECKILL_ADDR", "127.0.0.1:8080"), "listen address (env SECKILL_ADDR)")
	fs.StringVar(&o.redisAddr, "redis", env("SECKILL_REDIS", ""), "real Redis host:port (env SECKILL_REDIS); default: embedded miniredis")
	fs.StringVar(&o.redisCluster, "redis-cluster", env("SECKILL_REDIS_CLUSTER", ""), "Redis Cluster seed addrs, comma separated (env SECKILL_REDIS_CLUSTER)")
	fs.StringVar(&o.mysqlDSN, "mysql", env("SECKILL_MYSQL", ""), "MySQL/MariaDB DSN, e.g. root@tcp(127.0.0.1:3306)/seckill (env SECKILL_MYSQL); default: embedded SQLite")
	fs.StringVar(&o.sqlitePath, "sqlite", env("SECKILL_SQLITE", ""), "SQLite file (env SECKILL_SQLITE); default: a temporary file removed on exit")
	fs.StringVar(&o.adminToken, "admin-token", env("SECKILL_ADMIN_TOKEN", ""), "bearer token required on /admin (env SECKILL_ADMIN_TOKEN)")
	fs.StringVar(&o.prefix, "prefix", env("SECKILL_PREFIX", "surge:seckill:"), "Redis key prefix")
	fs.BoolVar(&o.redisRateLimit, "redis-ratelimit", false, "per-user rate limit shared by all instances (GCRA on Redis) instead of per instance")
	fs.BoolVar(&o.seed, "seed", true, "create a sample sale (starting in 20s) so the page has something to show")
	fs.StringVar(&o.logLevel, "log-level", env("SECKILL_LOG_LEVEL", "info"), "debug|info|warn|error")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.BoolVar(&o.demo.enabled, "demo", false, "run a load test against the service and print a report, then exit")
	fs.IntVar(&o.demo.stock, "demo-stock", 2000, "demo: units on sale")
	fs.IntVar(&o.demo.users, "demo-users", 20000, "demo: simulated users")
	fs.IntVar(&o.demo.concurrency, "demo-concurrency", 256, "demo: concurrent clients")
	fs.DurationVar(&o.demo.payTimeout, "demo-pay-timeout", 2*time.Second, "demo: unpaid orders are released after this")
	fs.IntVar(&o.demo.blast, "demo-blast", 20000, "demo: buy requests per side in the surge-vs-naive blast (0 skips)")
	fs.Float64Var(&o.demo.payShare, "demo-pay-share", 0.7, "demo: share of winners that pay")
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
		fmt.Fprintln(os.Stderr, "seckill:", err)
		os.Exit(1)
	}
}

// backends opens Redis and SQL as selected; cleanup closes them (and removes what was
// embedded).
func backends(ctx context.Context, o options, log *slog.Logger) (redis.UniversalClient, *Store, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	rdb, closeRedis, err := exampleutil.OpenRedis(ctx, o.redisAddr, o.redisCluster, 256, log)
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
			// An embedded Redis forgets everything on exit; so does the default database,
			// or the two would disagree on the next start.
			dir, derr := os.MkdirTemp("", "seckill-")
			if derr != nil {
				return nil, nil, cleanup, derr
			}
			cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
			path = filepath.Join(dir, "seckill.db")
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
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	log := exampleutil.NewLogger(o.logLevel)
	if o.demo.enabled && o.logLevel == "info" {
		log = exampleutil.NewLogger("warn") // keep the report readable
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rdb, store, cleanup, err := backends(ctx, o, log)
	defer cleanup()
	if err != nil {
		return err
	}
	svc, err := NewService(Config{Prefix: o.prefix, AdminToken: o.adminToken, Logger: log, RedisRateLimit: o.redisRateLimit}, rdb, store)
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return err
	}
	if o.adminToken == "" && !o.demo.enabled {
		log.Warn("admin API is open: set -admin-token (SECKILL_ADMIN_TOKEN) outside a sandbox")
	}

	addr := o.addr
	if o.demo.enabled {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", svc.Handler())
	if o.demo.enabled {
		mux.Handle("POST /naive/{id}/buy", newNaive(rdb, store, o.prefix))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()

	if o.seed && !o.demo.enabled {
		sl, err := svc.CreateSale(ctx, CreateSaleRequest{
			Item: "Limited sneaker drop", Description: "One pair per customer. Unpaid orders are released after 60 s.",
			PriceCents: 9900, Stock: 100, PerUserLimit: 1, StartsInMs: 20000, PayTimeoutMs: 60000,
		})
		if err != nil {
			return err
		}
		log.Info("sample sale created", "sale", sl.ID, "page", base+"/?sale="+sl.ID)
	}
	log.Info("seckill listening", "url", base)

	var demoErr error
	if o.demo.enabled {
		demoErr = runDemo(ctx, o.demo, base, svc, os.Stdout)
		stop()
	}
	select {
	case <-ctx.Done():
	case err := <-srvErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	// Graceful shutdown: stop taking requests, finish in-flight ones, then drain the
	// outbox into the database (nothing accepted is lost).
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := svc.Close(sctx); err != nil {
		return err
	}
	log.Info("drained, bye")
	return demoErr
}
