package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

// TestFlashSaleEndToEnd drives a whole sale through the HTTP API with thousands of
// simulated users (normal, retrying, double-clicking, page-reloading, bots): zero
// oversell, one order per accepted buy, duplicates answered with the same order,
// unpaid orders released by the durable timeout job and resold to a second wave, and
// Redis, the DB and every accepted order id agree at the end.
func TestFlashSaleEndToEnd(t *testing.T) {
	e := newTestEnv(t, Config{})
	o := demoOptions{stock: 120, users: 1200, concurrency: 128, payTimeout: time.Second, payShare: 0.6}
	if redistest.CurrentTier() == redistest.Miniredis {
		// miniredis compiles every Lua script call afresh: keep the embedded tier smaller.
		o.stock, o.users = 80, 800
	}
	rep, err := demo(context.Background(), o, e.srv.URL, e.svc, io.Discard)
	if rep != nil {
		var b strings.Builder
		printReport(&b, rep)
		t.Log(b.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Final
	if f.Oversold > 0 || f.Reserved+f.Sold != f.Stock-f.Available {
		t.Fatalf("books: %+v", f)
	}
	if f.Available != 0 {
		t.Errorf("available %d, want every released unit bought by the second wave", f.Available)
	}
	if f.DBPaid != f.Sold || f.DBReserved != f.Reserved || f.DBOrders != rep.Accepted {
		t.Errorf("db %+v vs accepted %d", f, rep.Accepted)
	}
	if rep.SecondWaveUnits == 0 || rep.Resold == 0 {
		t.Errorf("second wave bought %d of %d released units", rep.Resold, rep.SecondWaveUnits)
	}
	if f.DBReleased != rep.Accepted-f.Sold-f.Reserved {
		t.Errorf("db released %d, want every expired order (%d) released", f.DBReleased, rep.Accepted-f.Sold-f.Reserved)
	}
	if rep.Rejected[reasonSoldOut] == 0 || rep.Rejected[reasonBadToken] == 0 || rep.Rejected[reasonBadPath] == 0 {
		t.Errorf("expected sold_out, bad_token and bad_path rejections: %v", rep.Rejected)
	}
	if rep.DuplicateReplies == 0 {
		t.Error("double clicks and page reloads produced no replayed order")
	}
}

// TestOversellManyBuyers hammers one sale with thousands of concurrent distinct
// buyers through the service API: exactly stock orders, each persisted once.
func TestOversellManyBuyers(t *testing.T) {
	e := newTestEnv(t, Config{})
	stock, buyers := 400, 3000
	if redistest.CurrentTier() == redistest.Miniredis {
		stock, buyers = 150, 1000
	}
	sl, _ := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: int64(stock), PerUserLimit: 1})
	ctx := context.Background()
	var accepted, soldOut, other atomic.Int64
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.buy(t, sl, "user"+strconv.Itoa(i))
			switch {
			case r.Status == "pending":
				accepted.Add(1)
				mu.Lock()
				ids[r.OrderID] = true
				mu.Unlock()
			case r.Reason == reasonSoldOut:
				soldOut.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if accepted.Load() != int64(stock) || len(ids) != stock {
		t.Fatalf("accepted %d (distinct %d), want exactly %d", accepted.Load(), len(ids), stock)
	}
	if soldOut.Load() != int64(buyers-stock) || other.Load() != 0 {
		t.Fatalf("sold out %d other %d", soldOut.Load(), other.Load())
	}
	rec, err := e.svc.Reconcile(ctx, sl.ID, 10*time.Second)
	if err != nil || !rec.OK || rec.DBOrders != int64(stock) || rec.Available != 0 {
		t.Fatalf("reconcile %+v %v", rec, err)
	}
}

// TestDuplicateClicks: the same submission (same user, same pre-order token) sent
// many times at once yields one reservation and the same order id everywhere;
// opening the order page again shows the same token; a forged token is refused; a
// second order of the same user is refused by the per-user limit.
func TestDuplicateClicks(t *testing.T) {
	e := newTestEnv(t, Config{UserRate: 1000, UserBurst: 1000})
	sl, path := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 10, PerUserLimit: 1})
	ctx := context.Background()
	tok := e.token(t, path, "alice")
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	var replays atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r BuyResult
			code, err := e.c.do(ctx, "POST", path, "alice", tok, nil, &r)
			if err != nil || code != http.StatusAccepted {
				t.Errorf("HTTP %d %v %+v", code, err, r)
				return
			}
			if r.Duplicate {
				replays.Add(1)
			}
			mu.Lock()
			got[r.OrderID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(got) != 1 || replays.Load() != 49 {
		t.Fatalf("order ids %v, replays %d: want one order, 49 replays", got, replays.Load())
	}
	if again := e.token(t, path, "alice"); again != tok {
		t.Fatalf("second token %q, want the bound %q", again, tok)
	}
	var r BuyResult
	if code, _ := e.c.do(ctx, "POST", path, "alice", "forged", nil, &r); code != http.StatusForbidden || r.Reason != reasonBadToken {
		t.Fatalf("forged token: HTTP %d %+v, want 403 bad_token", code, r)
	}
	if res, err := e.svc.inv.Reserve(ctx, sl.ID, sl.ID+".other", "alice", false); err != nil || res.Outcome != OverLimit {
		t.Fatalf("second order of alice: %+v %v, want over limit", res, err)
	}
	c, _ := e.svc.inv.Counts(ctx, sl.ID)
	if c.Reserved != 1 || c.Available != 9 {
		t.Fatalf("counts %+v", c)
	}
}

// TestTimeoutReleaseAndResell: an unpaid order is released by the delayed job, its
// unit is sold to the next buyer, and paying the expired order fails with 409.
func TestTimeoutReleaseAndResell(t *testing.T) {
	e := newTestEnv(t, Config{})
	// The pay timeout must outlast bob's buy→pay round trips below on a loaded CI
	// machine (300 ms did not), yet stay short enough to wait for alice's release.
	const payTimeout = 1500 * time.Millisecond
	sl, path := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 1, PerUserLimit: 1, PayTimeoutMs: payTimeout.Milliseconds()})
	ctx := context.Background()
	var a BuyResult
	if code, err := e.c.do(ctx, "POST", path, "alice", e.token(t, path, "alice"), nil, &a); err != nil || code != http.StatusAccepted {
		t.Fatalf("alice: %d %v", code, err)
	}
	var b BuyResult
	bobTok := e.token(t, path, "bob")
	if code, _ := e.c.do(ctx, "POST", path, "bob", bobTok, nil, &b); code != http.StatusGone || b.Reason != reasonSoldOut {
		t.Fatalf("bob before release: %d %+v", code, b)
	}
	waitStatus(t, e, a.OrderID, "released", 10*time.Second)
	// The local gate reopened on release; bob's token (not consumed by the sold-out
	// answer) gets the unit now.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := e.c.do(ctx, "POST", path, "bob", bobTok, nil, &b)
		if code == http.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob after release: %d %+v", code, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := e.c.do(ctx, "POST", "/api/orders/"+a.OrderID+"/pay", "alice", "", nil, nil); code != http.StatusConflict {
		t.Fatalf("paying an expired order: HTTP %d, want 409", code)
	}
	if code, _ := e.c.do(ctx, "POST", "/api/orders/"+b.OrderID+"/pay", "alice", "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("paying someone else's order: HTTP %d, want 404", code)
	}
	if code, _ := e.c.do(ctx, "POST", "/api/orders/"+b.OrderID+"/pay", "bob", "", nil, nil); code != http.StatusOK {
		t.Fatalf("bob pays: HTTP %d", code)
	}
	waitStatus(t, e, b.OrderID, "paid", 10*time.Second)
	// A paid order is never released, even after its deadline.
	time.Sleep(payTimeout + 300*time.Millisecond)
	rec, err := e.svc.Reconcile(ctx, sl.ID, 5*time.Second)
	if err != nil || !rec.OK || rec.Sold != 1 || rec.DBPaid != 1 || rec.DBReleased != 1 {
		t.Fatalf("reconcile %+v %v", rec, err)
	}
}

func waitStatus(t *testing.T, e *testEnv, id, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var v OrderView
		code, err := e.c.do(context.Background(), "GET", "/api/orders/"+id, "", "", nil, &v)
		if err == nil && code == 200 && v.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: HTTP %d %+v, want status %s", id, code, v, want)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestSaleWindowAndPath: before the start the buy path is hidden and buys are refused;
// a guessed path is refused after the start; a closed sale refuses buys.
func TestSaleWindowAndPath(t *testing.T) {
	e := newTestEnv(t, Config{})
	ctx := context.Background()
	sl, path := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 5, StartsInMs: 400})
	var v saleView
	if code, _ := e.c.do(ctx, "GET", "/api/sales/"+sl.ID, "", "", nil, &v); code != 200 || v.BuyPath != "" || v.Started {
		t.Fatalf("before start: %d %+v", code, v)
	}
	var r BuyResult
	if code, _ := e.c.do(ctx, "POST", path, "u1", "k", nil, &r); code != http.StatusForbidden || r.Reason != reasonNotStarted {
		t.Fatalf("pre-fire: %d %+v", code, r)
	}
	if code, _ := e.c.do(ctx, "POST", strings.Replace(path, "/buy/", "/token/", 1), "u1", "", nil, &r); code != http.StatusForbidden || r.Reason != reasonNotStarted {
		t.Fatalf("token before start: %d %+v", code, r)
	}
	time.Sleep(450 * time.Millisecond)
	if code, _ := e.c.do(ctx, "GET", "/api/sales/"+sl.ID, "", "", nil, &v); code != 200 || v.BuyPath != path || v.TokenPath == "" {
		t.Fatalf("after start: %d %+v", code, v)
	}
	if code, _ := e.c.do(ctx, "POST", "/api/sales/"+sl.ID+"/buy/guess", "u1", "k", nil, &r); code != http.StatusNotFound || r.Reason != reasonBadPath {
		t.Fatalf("guessed path: %d %+v", code, r)
	}
	if code, _ := e.c.do(ctx, "POST", path, "", "k", nil, &r); code != http.StatusBadRequest {
		t.Fatalf("no user: %d %+v", code, r)
	}
	if code, _ := e.c.do(ctx, "POST", path, "u1", "", nil, &r); code != http.StatusBadRequest {
		t.Fatalf("no pre-order token: %d %+v", code, r)
	}
	if code, _ := e.c.do(ctx, "POST", "/admin/sales/"+sl.ID+"/close", "", "", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	if code, _ := e.c.do(ctx, "POST", path, "u1", "k", nil, &r); code != http.StatusGone || r.Reason != reasonEnded {
		t.Fatalf("after close: %d %+v", code, r)
	}
}

// TestRestockReopensGate: a sold-out sale is rejected locally; a restock (idempotent by
// op) reopens it for exactly the added units.
func TestRestockReopensGate(t *testing.T) {
	e := newTestEnv(t, Config{GateTTL: time.Hour})
	ctx := context.Background()
	sl, path := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 1, PerUserLimit: 1})
	buy := func(u string) int {
		code, _ := e.c.do(ctx, "POST", path, u, e.token(t, path, u), nil, nil)
		return code
	}
	if buy("a") != http.StatusAccepted || buy("b") != http.StatusGone {
		t.Fatal("first unit")
	}
	before := e.svc.inv.st.Stats()
	var r BuyResult
	if code, _ := e.c.do(ctx, "POST", path, "c", "tok", nil, &r); code != http.StatusGone || r.Reason != reasonSoldOut {
		t.Fatalf("sold out: %d %+v", code, r)
	}
	if after := e.svc.inv.st.Stats(); after.Calls != before.Calls || after.ScriptCalls != before.ScriptCalls {
		t.Fatal("sold-out gate did not answer locally")
	}
	for range 3 { // the same restock op three times adds 2 units once
		if code, _ := e.c.do(ctx, "POST", "/admin/sales/"+sl.ID+"/restock", "", "", map[string]any{"op": "r1", "qty": 2}, nil); code != 200 {
			t.Fatalf("restock: %d", code)
		}
	}
	if buy("d") != http.StatusAccepted || buy("e") != http.StatusAccepted || buy("f") != http.StatusGone {
		t.Fatal("after restock")
	}
	rec, err := e.svc.Reconcile(ctx, sl.ID, 5*time.Second)
	if err != nil || !rec.OK || rec.Stock != 3 || rec.Reserved != 3 {
		t.Fatalf("reconcile %+v %v", rec, err)
	}
}

// TestCloseDrainsOutbox: orders accepted right before shutdown are all in the DB after
// Close returns.
func TestCloseDrainsOutbox(t *testing.T) {
	e := newTestEnv(t, Config{})
	ctx := context.Background()
	sl, _ := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 100})
	var ids []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.buy(t, sl, "u"+strconv.Itoa(i))
			if r.Status != "pending" {
				t.Errorf("buy %d: %+v", i, r)
			}
			mu.Lock()
			ids = append(ids, r.OrderID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := e.svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, rows, err := e.store.OrderCounts(ctx, sl.ID)
	if err != nil || rows != 100 {
		t.Fatalf("rows after close: %d %v", rows, err)
	}
	for _, id := range ids {
		if _, err := e.store.Order(ctx, id); err != nil {
			t.Fatalf("order %s: %v", id, err)
		}
	}
}

// TestPersistIdempotent: redelivered outbox batches change nothing, and a reserve with
// its settlement in one batch ends settled.
func TestPersistIdempotent(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	now := time.Now()
	evs := []Event{
		{Type: "reserve", Sale: "s", Op: "s.a", User: "u1", Qty: 1, At: now},
		{Type: "reserve", Sale: "s", Op: "s.b", User: "u2", Qty: 1, At: now},
		{Type: "confirm", Sale: "s", Op: "s.a", User: "u1", Qty: 1, At: now},
		{Type: "reserve", Sale: "s", Op: "s.c", User: "u3", Qty: 1, At: now},
		{Type: "release", Sale: "s", Op: "s.c", User: "u3", Qty: 1, At: now},
	}
	for range 3 {
		if err := st.Persist(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	// A late redelivery of a reserve must not resurrect a settled order.
	if err := st.Persist(ctx, evs[:1]); err != nil {
		t.Fatal(err)
	}
	c, rows, err := st.OrderCounts(ctx, "s")
	if err != nil || rows != 3 || c["paid"] != 1 || c["reserved"] != 1 || c["released"] != 1 {
		t.Fatalf("counts %v rows %d err %v", c, rows, err)
	}
}

// TestMetricsAndHealth: /metrics speaks Prometheus text with HTTP counters and every
// component's stats; /healthz answers.
func TestMetricsAndHealth(t *testing.T) {
	e := newTestEnv(t, Config{})
	ctx := context.Background()
	_, path := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 1})
	e.c.do(ctx, "POST", path, "u", e.token(t, path, "u"), nil, nil)
	if code, _ := e.c.do(ctx, "GET", "/healthz", "", "", nil, nil); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`seckill_http_requests_total{code="202",route="buy"} 1`,
		`seckill_buy_total{result="accepted"} 1`,
		`seckill_component_stat{component="stock",stat="applied"} 1`,
		`seckill_component_stat{component="idempotency",stat="tokens_issued"} 1`,
		`seckill_component_stat{component="batcher"`,
		`seckill_component_stat{component="ratelimit"`,
		`seckill_component_stat{component="cache"`,
		`seckill_http_request_seconds_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAdminAuthAndValidation: the admin token is enforced and bad input is a 400.
func TestAdminAuthAndValidation(t *testing.T) {
	e := newTestEnv(t, Config{AdminToken: "s3cret"})
	ctx := context.Background()
	req := CreateSaleRequest{ID: saleName(t), Item: "x", Stock: 1}
	if code, _ := e.c.do(ctx, "POST", "/admin/sales", "", "", req, nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	for _, bad := range []CreateSaleRequest{
		{ID: "bad id!", Item: "x"}, {Item: ""}, {Item: "x", Stock: -1}, {Item: "x", StartAt: "tomorrow"},
	} {
		if _, err := e.svc.CreateSale(ctx, bad); !errors.Is(err, errBadInput) {
			t.Errorf("%+v: %v, want errBadInput", bad, err)
		}
	}
	if _, err := e.svc.CreateSale(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateSale(ctx, req); !errors.Is(err, errConflict) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := e.svc.Restock(ctx, req.ID, "", 1); !errors.Is(err, errBadInput) {
		t.Fatalf("restock without op: %v", err)
	}
	if _, err := e.svc.Order(ctx, "nope"); !errors.Is(err, errBadInput) {
		t.Fatalf("bad order id: %v", err)
	}
	if _, err := e.svc.Order(ctx, req.ID+"."+strings.Repeat("0", 24)); !errors.Is(err, ErrUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
	_ = fmt.Sprint()
}

// TestTwoInstances: two service instances share Redis and the database. Buyers hit
// both; nobody pays; the release workers of both instances race on the same durable
// timeout queue. Every order is released exactly once, all stock comes back, and the
// books agree (the consumers of both instances share the outbox consumer group).
func TestTwoInstances(t *testing.T) {
	a := newTestEnv(t, Config{})
	svcB, err := NewService(Config{Prefix: a.svc.cfg.Prefix, Logger: quietLogger(), ReleaseInterval: 50 * time.Millisecond, Consumers: 4}, a.rdb, a.store)
	if err != nil {
		t.Fatal(err)
	}
	if err := svcB.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sl, _ := a.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 100, PayTimeoutMs: 500})
	b := &testEnv{svc: svcB}
	b.svc.startConsumer(sl.ID) // B learns about a sale created on A (as after a restart)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			if r := e.buy(t, sl, "u"+strconv.Itoa(i)); r.Status == "pending" {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	// ≥ 100: a unit released while buyers were still arriving is sold again.
	n := accepted.Load()
	if n < 100 {
		t.Fatalf("accepted %d, want at least the 100 units", n)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := a.svc.inv.Counts(ctx, sl.ID)
		if err == nil && c.Available == 100 && c.Reserved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all released: %+v %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec, err := a.svc.Reconcile(ctx, sl.ID, 10*time.Second)
	if err != nil || !rec.OK || rec.DBReleased != n || rec.DBOrders != n {
		t.Fatalf("reconcile %+v %v (accepted %d)", rec, err, n)
	}
	st := a.svc.Stats()["release"]["released"] + svcB.Stats()["release"]["released"]
	if st != n {
		t.Fatalf("releases applied %d, want exactly one per order (%d)", st, n)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := svcB.Close(cctx); err != nil {
		t.Fatal(err)
	}
}

// TestStoreTier: on the real-Redis tiers with SURGE_MYSQL_DSN set, the tests run on
// MariaDB/MySQL, not SQLite.
func TestStoreTier(t *testing.T) {
	st := testStore(t)
	want := "sqlite"
	if os.Getenv(EnvMySQL) != "" && redistest.Real() {
		want = "mysql"
	}
	if st.dialect != want {
		t.Fatalf("store dialect %s, want %s", st.dialect, want)
	}
	t.Logf("tier %s, database %s", redistest.CurrentTier(), st.dialect)
}

// TestPersistFailureRedelivers: while the database refuses order writes, accepted
// orders stay unacknowledged in the stock outbox; once it recovers they are
// redelivered (XAUTOCLAIM after MinIdle) and persisted exactly once. Nothing accepted
// is lost.
func TestPersistFailureRedelivers(t *testing.T) {
	e := newTestEnv(t, Config{})
	ctx := context.Background()
	sl, _ := e.sale(t, CreateSaleRequest{ID: saleName(t), Stock: 50})
	if _, err := e.store.db.ExecContext(ctx, `ALTER TABLE orders RENAME TO orders_away`); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if r := e.buy(t, sl, "u"+strconv.Itoa(i)); r.Status != "pending" {
			t.Fatalf("buy %d: %+v", i, r)
		}
	}
	time.Sleep(300 * time.Millisecond) // let the consumers fail at least once
	if n := e.svc.Stats()["persist"]["errors"]; n == 0 {
		t.Fatal("persist did not fail while the table was away")
	}
	if _, err := e.store.db.ExecContext(ctx, `ALTER TABLE orders_away RENAME TO orders`); err != nil {
		t.Fatal(err)
	}
	rec, err := e.svc.Reconcile(ctx, sl.ID, 20*time.Second)
	if err != nil || !rec.OK || rec.DBOrders != 20 || rec.DBReserved != 20 {
		t.Fatalf("after recovery: %+v %v", rec, err)
	}
}
