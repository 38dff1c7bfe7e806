package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/examples/internal/exampleutil"
	"github.com/surgekit/surge/internal/redistest"
)

// EnvMySQL names the MySQL/MariaDB server used on the real-Redis tiers. CI sets it to
// root@tcp(127.0.0.1:3306)/; each test then creates and drops its own database.
const EnvMySQL = "SURGE_MYSQL_DSN"

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testStore returns the database of the tier in force: MariaDB/MySQL when
// SURGE_MYSQL_DSN is set on a real-Redis tier, else a SQLite file in a temp dir.
func testStore(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	if dsn := os.Getenv(EnvMySQL); dsn != "" && redistest.Real() {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("%s: %v", EnvMySQL, err)
		}
		cfg.DBName = "auction_test_" + randHex(6)
		st, err := OpenMySQL(ctx, cfg.FormatDSN())
		if err != nil {
			t.Fatalf("mysql (%s set, so it must be reachable): %v", EnvMySQL, err)
		}
		t.Cleanup(func() {
			_ = st.Close()
			if err := exampleutil.DropMySQLDatabase(context.Background(), cfg.FormatDSN(), cfg.DBName); err != nil {
				t.Logf("drop %s: %v", cfg.DBName, err)
			}
		})
		return st
	}
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "auction.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testEnv struct {
	svc   *Service
	srv   *httptest.Server
	rdb   redis.UniversalClient
	store *Store
}

// newTestEnv starts a service on rdb (nil: the tier in force) behind an httptest
// server; it is closed before the Redis and SQL cleanups run.
func newTestEnv(t testing.TB, cfg Config, rdb redis.UniversalClient) *testEnv {
	t.Helper()
	if rdb == nil {
		rdb = redistest.Client(t)
	}
	store := testStore(t)
	cfg.Prefix = redistest.Prefix(t)
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.CloseInterval == 0 {
		cfg.CloseInterval = 50 * time.Millisecond
	}
	svc, err := NewService(cfg, rdb, store)
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	srv := httptest.NewUnstartedServer(svc.Handler())
	srv.Config.RegisterOnShutdown(svc.stopStreams)
	srv.Start()
	t.Cleanup(func() {
		svc.stopStreams()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testEnv{svc: svc, srv: srv, rdb: rdb, store: store}
}

func auctionName(t testing.TB) string {
	n := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	if len(n) > 30 {
		n = n[:30]
	}
	return strings.ToLower(n) + "-" + randHex(3)
}

func (e *testEnv) create(t testing.TB, r CreateRequest) Auction {
	t.Helper()
	if r.ID == "" {
		r.ID = auctionName(t)
	}
	if r.Increment == 0 {
		r.Increment = 1
	}
	if r.DurationMs == 0 && r.EndAt == 0 {
		r.DurationMs = 600_000
	}
	a, err := e.svc.Create(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
