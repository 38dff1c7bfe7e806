package main

import (
	"context"
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

// testStore returns the database of the tier in force: MariaDB/MySQL when SURGE_MYSQL_DSN
// is set on a real-Redis tier, else a SQLite file in the test's temp dir.
func testStore(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	if dsn := os.Getenv(EnvMySQL); dsn != "" && redistest.Real() {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("%s: %v", EnvMySQL, err)
		}
		cfg.DBName = "seckill_test_" + randHex(6)
		st, err := OpenMySQL(ctx, cfg.FormatDSN())
		if err != nil {
			t.Fatalf("mysql (%s set, so it must be reachable): %v", EnvMySQL, err)
		}
		t.Cleanup(func() {
			_ = st.Close()
			if err := exampleutil.DropMySQLDatabase(context.Background(), dsn, cfg.DBName); err != nil {
				t.Logf("drop %s: %v", cfg.DBName, err)
			}
		})
		return st
	}
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "seckill.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

type testEnv struct {
	svc   *Service
	srv   *httptest.Server
	rdb   redis.UniversalClient
	store *Store
	c     *demoClient
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestEnv starts a service on the tier in force behind an httptest server. The
// service is closed (drained) before the Redis and SQL cleanups run.
func newTestEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	rdb := redistest.Client(t)
	store := testStore(t)
	cfg.Prefix = redistest.Prefix(t)
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.Consumers == 0 {
		cfg.Consumers = 8 // redistest clients have a pool of 64 connections
	}
	if cfg.ReleaseInterval == 0 {
		cfg.ReleaseInterval = 50 * time.Millisecond
	}
	svc, err := NewService(cfg, rdb, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	e := &testEnv{svc: svc, srv: srv, rdb: rdb, store: store, c: newDemoClient(srv.URL, 64)}
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// sale creates a started sale and returns it with its buy path.
func (e *testEnv) sale(t testing.TB, req CreateSaleRequest) (Sale, string) {
	t.Helper()
	if req.Item == "" {
		req.Item = "thing"
	}
	sl, err := e.svc.CreateSale(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return sl, "/api/sales/" + sl.ID + "/buy/" + sl.BuyPath
}

func saleName(t testing.TB) string {
	n := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	if len(n) > 30 {
		n = n[:30]
	}
	return strings.ToLower(n) + "-" + randHex(3)
}

// buy issues user's pre-order token and buys with it through the service API.
func (e *testEnv) buy(t testing.TB, sl Sale, user string) BuyResult {
	t.Helper()
	ctx := context.Background()
	tok, err := e.svc.Token(ctx, sl.ID, sl.BuyPath, user, time.Now())
	if err != nil {
		t.Error(err)
		return BuyResult{}
	}
	if tok.Status != "issued" {
		return tok
	}
	r, err := e.svc.Buy(ctx, sl.ID, sl.BuyPath, user, tok.Token, time.Now())
	if err != nil {
		t.Error(err)
	}
	return r
}

// token fetches user's pre-order token over HTTP.
func (e *testEnv) token(t testing.TB, buyPath, user string) string {
	t.Helper()
	var r BuyResult
	code, err := e.c.do(context.Background(), "POST", strings.Replace(buyPath, "/buy/", "/token/", 1), user, "", nil, &r)
	if err != nil || code != 200 || r.Token == "" {
		t.Fatalf("token for %s: HTTP %d %+v %v", user, code, r, err)
	}
	return r.Token
}
