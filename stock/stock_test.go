package stock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

func newStock(t testing.TB, opts ...Option) (*Stock, redis.UniversalClient) {
	t.Helper()
	rdb := redistest.Client(t)
	s, err := New(rdb, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, rdb
}

func mustLoad(t testing.TB, s *Stock, sku string, qty int64, cfg SKUConfig) {
	t.Helper()
	if _, err := s.Load(context.Background(), "load-"+sku, sku, qty, cfg); err != nil {
		t.Fatalf("load %s: %v", sku, err)
	}
}

func levels(t testing.TB, s *Stock, sku string) Levels {
	t.Helper()
	l, err := s.Levels(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustReconcile(t testing.TB, s *Stock, group string) Report {
	t.Helper()
	rep, err := s.Reconcile(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("reconcile drift: %+v", rep)
	}
	return rep
}

func one(id, user, sku string, q int64) Op {
	return Op{ID: id, User: user, Items: []Item{{SKU: sku, Qty: q}}}
}

func TestLoadDeductDuplicateSoldOut(t *testing.T) {
	ctx := context.Background()
	s, _ := newStock(t)
	mustLoad(t, s, "apple", 3, SKUConfig{LowThreshold: 1})
	if _, err := s.Load(ctx, "load-again", "apple", 10, SKUConfig{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second load: %v, want ErrExists", err)
	}
	r, err := s.Load(ctx, "load-apple", "apple", 10, SKUConfig{})
	if err != nil || !r.Duplicate || r.State != StateStockIn {
		t.Fatalf("repeated load op: %+v %v", r, err)
	}
	r, err = s.Deduct(ctx, one("o1", "u1", "apple", 2))
	if err != nil || r.Duplicate || r.State != StateDeducted || r.Remaining != 1 || !r.LowStock {
		t.Fatalf("deduct: %+v %v", r, err)
	}
	r, err = s.Deduct(ctx, one("o1", "u1", "apple", 2))
	if err != nil || !r.Duplicate || r.State != StateDeducted || r.User != "u1" || len(r.Items) != 1 || r.Items[0].Qty != 2 {
		t.Fatalf("duplicate: %+v %v", r, err)
	}
	if _, err = s.Deduct(ctx, one("o2", "u1", "apple", 2)); !errors.Is(err, ErrSoldOut) {
		t.Fatalf("over: %v, want ErrSoldOut", err)
	}
	if _, err = s.Deduct(ctx, one("o3", "", "pear", 1)); !errors.Is(err, ErrUnknownSKU) {
		t.Fatalf("unknown sku: %v", err)
	}
	if _, err = s.Restock(ctx, "re1", "apple", 5); err != nil {
		t.Fatal(err)
	}
	if _, err = s.Restock(ctx, "re2", "pear", 5); !errors.Is(err, ErrUnknownSKU) {
		t.Fatalf("restock unknown: %v", err)
	}
	// A refused op is not journaled: the same id may succeed after a restock.
	if _, err = s.Deduct(ctx, one("o2", "u1", "apple", 2)); err != nil {
		t.Fatal(err)
	}
	if l := levels(t, s, "apple"); l != (Levels{Available: 4, Sold: 4, Total: 8}) {
		t.Fatalf("levels %+v", l)
	}
	rep := mustReconcile(t, s, "apple")
	if rep.Ops != 4 || rep.Events != 4 {
		t.Fatalf("report %+v", rep)
	}
	st := s.Stats()
	if st.Applied != 2 || st.Duplicates != 1 || st.SoldOut != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSafetyStockAndUserLimit(t *testing.T) {
	ctx := context.Background()
	s, _ := newStock(t)
	mustLoad(t, s, "tv", 10, SKUConfig{Safety: 2, UserLimit: 3})
	if _, err := s.Deduct(ctx, one("a", "", "tv", 1)); !errors.Is(err, ErrUserRequired) {
		t.Fatalf("no user: %v", err)
	}
	if _, err := s.Deduct(ctx, one("a", "alice", "tv", 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deduct(ctx, one("b", "alice", "tv", 1)); !errors.Is(err, ErrOverLimit) {
		t.Fatalf("limit: %v", err)
	}
	if _, err := s.Deduct(ctx, one("c", "bob", "tv", 3)); err != nil {
		t.Fatal(err)
	}
	// 4 available, 2 of them safety: 3 would dip into it.
	if _, err := s.Deduct(ctx, one("d", "carol", "tv", 3)); !errors.Is(err, ErrSafetyStock) {
		t.Fatalf("safety: %v", err)
	}
	if _, err := s.Deduct(ctx, one("e", "carol", "tv", 5)); !errors.Is(err, ErrSoldOut) {
		t.Fatalf("sold out: %v", err)
	}
	// Revert gives alice's quota back.
	if _, err := s.Revert(ctx, "tv", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deduct(ctx, one("f", "alice", "tv", 3)); err != nil {
		t.Fatalf("after revert: %v", err)
	}
	mustReconcile(t, s, "tv")
}

func TestMultiSKUAllOrNothing(t *testing.T) {
	ctx := context.Background()
	group := func(sku string) string { g, _, _ := strings.Cut(sku, "."); return g }
	s, _ := newStock(t, WithGroupOf(group))
	mustLoad(t, s, "shop1.phone", 5, SKUConfig{})
	mustLoad(t, s, "shop1.case", 1, SKUConfig{})
	op := Op{ID: "m1", User: "u", Items: []Item{{"shop1.phone", 1}, {"shop1.case", 1}}}
	if _, err := s.Deduct(ctx, op); err != nil {
		t.Fatal(err)
	}
	op.ID = "m2"
	if _, err := s.Deduct(ctx, op); !errors.Is(err, ErrSoldOut) {
		t.Fatalf("m2: %v", err)
	}
	if l := levels(t, s, "shop1.phone"); l.Available != 4 || l.Sold != 1 {
		t.Fatalf("phone moved although the case was sold out: %+v", l)
	}
	_, err := s.Deduct(ctx, Op{ID: "m3", Items: []Item{{"shop1.phone", 1}, {"shop2.case", 1}}})
	if !errors.Is(err, ErrMixedGroups) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("mixed groups: %v", err)
	}
	if _, err := s.Revert(ctx, "shop1.case", "m1"); err != nil {
		t.Fatal(err)
	}
	if l := levels(t, s, "shop1.phone"); l.Available != 5 || l.Sold != 0 {
		t.Fatalf("revert of a multi-SKU op: %+v", l)
	}
	mustReconcile(t, s, "shop1")
}

func TestReserveConfirmRelease(t *testing.T) {
	ctx := context.Background()
	s, _ := newStock(t)
	mustLoad(t, s, "k", 5, SKUConfig{})
	for _, id := range []string{"r1", "r2"} {
		if _, err := s.Reserve(ctx, one(id, "u", "k", 2)); err != nil {
			t.Fatal(err)
		}
	}
	if l := levels(t, s, "k"); l != (Levels{Available: 1, Reserved: 4, Total: 5}) {
		t.Fatalf("%+v", l)
	}
	if r, err := s.Confirm(ctx, "k", "r1"); err != nil || r.State != StateConfirmed {
		t.Fatalf("confirm %+v %v", r, err)
	}
	if r, err := s.Confirm(ctx, "k", "r1"); err != nil || !r.Duplicate {
		t.Fatalf("confirm again %+v %v", r, err)
	}
	if r, err := s.Release(ctx, "k", "r2"); err != nil || r.State != StateReleased {
		t.Fatalf("release %+v %v", r, err)
	}
	if _, err := s.Confirm(ctx, "k", "r2"); !errors.Is(err, ErrBadState) || !errors.Is(err, ErrReverted) {
		t.Fatalf("confirm after release: %v", err)
	}
	if _, err := s.Release(ctx, "k", "r1"); !errors.Is(err, ErrBadState) {
		t.Fatalf("release after confirm: %v", err)
	}
	if _, err := s.Confirm(ctx, "k", "nope"); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("confirm unknown: %v", err)
	}
	if l := levels(t, s, "k"); l != (Levels{Available: 3, Sold: 2, Total: 5}) {
		t.Fatalf("%+v", l)
	}
	// A release that comes before its reserve (timeout raced the order) tombstones it.
	if r, err := s.Release(ctx, "k", "r3"); err != nil || r.State != StateTombstone {
		t.Fatalf("release unknown %+v %v", r, err)
	}
	if _, err := s.Reserve(ctx, one("r3", "u", "k", 1)); !errors.Is(err, ErrReverted) {
		t.Fatalf("late reserve: %v", err)
	}
	mustReconcile(t, s, "k")
}

var errNoIO = errors.New("test: I/O attempted")

// A client whose every dial fails with errNoIO: any other error means no I/O happened.
func deadClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1,
		Dialer: func(context.Context, string, string) (net.Conn, error) { return nil, errNoIO }})
}

func TestBadInputBeforeIO(t *testing.T) {
	ctx := context.Background()
	rdb := deadClient()
	defer rdb.Close()
	s, err := New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 300)
	cases := []struct {
		name string
		call func() error
	}{
		{"empty op", func() error { _, err := s.Deduct(ctx, one("", "", "a", 1)); return err }},
		{"long op", func() error { _, err := s.Deduct(ctx, one(long, "", "a", 1)); return err }},
		{"zero qty", func() error { _, err := s.Deduct(ctx, one("o", "", "a", 0)); return err }},
		{"negative qty", func() error { _, err := s.Reserve(ctx, one("o", "", "a", -1)); return err }},
		{"huge qty", func() error { _, err := s.Reserve(ctx, one("o", "", "a", 1<<62)); return err }},
		{"no items", func() error { _, err := s.Deduct(ctx, Op{ID: "o"}); return err }},
		{"empty sku", func() error { _, err := s.Deduct(ctx, one("o", "", "", 1)); return err }},
		{"brace sku", func() error { _, err := s.Deduct(ctx, one("o", "", "a{b}", 1)); return err }},
		{"bar user", func() error { _, err := s.Deduct(ctx, one("o", "a|b", "a", 1)); return err }},
		{"nil ctx", func() error { _, err := s.Deduct(nil, one("o", "", "a", 1)); return err }}, //nolint:staticcheck
		{"load negative", func() error { _, err := s.Load(ctx, "o", "a", -1, SKUConfig{}); return err }},
		{"load bad cfg", func() error { _, err := s.Load(ctx, "o", "a", 1, SKUConfig{Safety: -1}); return err }},
		{"restock zero", func() error { _, err := s.Restock(ctx, "o", "a", 0); return err }},
		{"revert empty", func() error { _, err := s.Revert(ctx, "a", ""); return err }},
		{"confirm bad sku", func() error { _, err := s.Confirm(ctx, "a,b", "o"); return err }},
		{"checkback empty", func() error { _, err := s.CheckBack(ctx, "", "o"); return err }},
		{"reconcile", func() error { _, err := s.Reconcile(ctx, "a}"); return err }},
		{"consume", func() error { return s.Consume(ctx, ConsumerConfig{Group: "a"}, nil) }},
		{"levels nil ctx", func() error { _, err := s.Levels(nil, "a"); return err }},                  //nolint:staticcheck
		{"reconcile nil ctx", func() error { _, err := s.Reconcile(nil, "a"); return err }},            //nolint:staticcheck
		{"revert nil ctx", func() error { _, err := s.Revert(nil, "a", "o"); return err }},             //nolint:staticcheck
		{"load nil ctx", func() error { _, err := s.Load(nil, "o", "a", 1, SKUConfig{}); return err }}, //nolint:staticcheck
	}
	for _, c := range cases {
		if err := c.call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	for _, opts := range [][]Option{
		{WithPrefix("")}, {WithPrefix("a{")}, {WithJournalTTL(time.Millisecond)},
		{WithJournalTTL(time.Hour)}, // shorter than the default timeout + horizon
		{WithGroupOf(nil)}, {WithCombiner(-1, time.Second)}, {WithCombiner(10000, time.Second)},
		{WithSoldOutGate(-time.Second)},
	} {
		if _, err := New(rdb, opts...); !errors.Is(err, ErrInvalid) {
			t.Errorf("New with bad option: %v", err)
		}
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil client: %v", err)
	}
	if _, err := New(rdb, WithJournalTTL(time.Hour), WithOrderTimeout(10*time.Minute), WithCheckBackHorizon(50*time.Minute)); err != nil {
		t.Errorf("valid TTL refused: %v", err)
	}
	if got := s.Stats().InvalidCalls; got < 15 {
		t.Errorf("invalid calls counted %d", got)
	}
}

func TestGroupFuncBadOutput(t *testing.T) {
	s, err := New(deadClient(), WithGroupOf(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deduct(context.Background(), one("o", "", "a", 1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v", err)
	}
}

func TestClosed(t *testing.T) {
	s, _ := newStock(t)
	_ = s.Close()
	if _, err := s.Deduct(context.Background(), one("o", "", "a", 1)); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	_ = s.Close()
}

func TestJournalGenerations(t *testing.T) {
	// Entries survive at least one TTL, across a generation boundary.
	if redistest.Real() {
		t.Skip("needs miniredis time control")
	}
	m, rdb := redistest.Mini(t)
	m.SetTime(time.Unix(1_000_000, 0))
	s, err := New(rdb, WithJournalTTL(100*time.Second), WithOrderTimeout(0), WithCheckBackHorizon(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mustLoad(t, s, "k", 10, SKUConfig{})
	if _, err := s.Deduct(ctx, one("o", "", "k", 1)); err != nil {
		t.Fatal(err)
	}
	m.SetTime(time.Unix(1_000_000+150, 0)) // next generation
	if r, err := s.Deduct(ctx, one("o", "", "k", 1)); err != nil || !r.Duplicate {
		t.Fatalf("%+v %v", r, err)
	}
	if st, err := s.CheckBack(ctx, "k", "o"); err != nil || st != Succeeded {
		t.Fatalf("%v %v", st, err)
	}
	keys := m.Keys()
	if !strings.Contains(fmt.Sprint(keys), "surge:stock:{k}:j:10000") {
		t.Fatalf("keys %v", keys)
	}
}
