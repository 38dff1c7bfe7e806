package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type demoOptions struct {
	enabled     bool
	stock       int
	users       int
	concurrency int
	payTimeout  time.Duration
	payShare    float64
	blast       int // buy requests per side in the surge-vs-naive blast; 0 skips it
}

// demoClient is a tiny HTTP client for the simulated users.
type demoClient struct {
	base string
	hc   *http.Client
}

func newDemoClient(base string, conns int) *demoClient {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: 30 * time.Second}
	return &demoClient{base: base, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func (c *demoClient) do(ctx context.Context, method, path, user, key string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if user != "" {
		req.Header.Set("X-User-ID", user)
	}
	if key != "" {
		req.Header.Set(PreorderHeader, key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(b) > 0 {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// demoStats counts what the simulated users saw.
type demoStats struct {
	requests, buys, errs, dupReplies atomic.Int64
	mu                               sync.Mutex
	rejected                         map[string]int64
	lat                              []time.Duration
	orders                           map[string]string // order id -> user
	paid                             map[string]bool
}

func newDemoStats() *demoStats {
	return &demoStats{rejected: map[string]int64{}, orders: map[string]string{}, paid: map[string]bool{}}
}

// buy posts one buy and records the outcome; it returns the status and order id.
func (d *demoStats) buy(ctx context.Context, c *demoClient, path, user, key string) (int, string) {
	var res BuyResult
	t0 := time.Now()
	code, err := c.do(ctx, "POST", path, user, key, nil, &res)
	el := time.Since(t0)
	d.requests.Add(1)
	d.buys.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lat = append(d.lat, el)
	switch {
	case err != nil:
		d.errs.Add(1)
		d.rejected["transport_error"]++
	case code == http.StatusAccepted:
		if _, seen := d.orders[res.OrderID]; seen {
			d.dupReplies.Add(1)
		} else {
			d.orders[res.OrderID] = user
		}
		return code, res.OrderID
	case res.Reason != "":
		d.rejected[res.Reason]++
	default:
		d.rejected["http_"+strconv.Itoa(code)]++
	}
	return code, ""
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// DemoReport is the outcome of a demo run.
type DemoReport struct {
	Stock, Users                  int
	FlashDuration                 time.Duration
	Requests, BuyRequests         int64
	Accepted, DuplicateReplies    int64
	Rejected                      map[string]int64
	P50, P99                      time.Duration
	Paid, Released, Resold        int64
	SecondWaveUnits               int64
	UsersOverLimit                int
	MissingInDB                   int
	Final                         Reconciliation
	BlastRequests                 int
	SurgeRPS, NaiveRPS            float64
	SurgeP50, SurgeP99            time.Duration
	NaiveP50, NaiveP99            time.Duration
	SurgeBlastSold, NaiveAccepted int64
	NaiveOversold                 int64
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// buyPath fetches the sale until it has started and returns the revealed buy path.
func buyPath(ctx context.Context, c *demoClient, sale string) (string, error) {
	for ctx.Err() == nil {
		var v saleView
		code, err := c.do(ctx, "GET", "/api/sales/"+sale, "", "", nil, &v)
		if err == nil && code == 200 {
			if v.BuyPath != "" {
				return v.BuyPath, nil
			}
			if wait := time.Duration(v.StartAt-v.ServerNow) * time.Millisecond; wait > 0 {
				sleepCtx(ctx, wait+time.Duration(rand.IntN(20))*time.Millisecond)
				continue
			}
			return "", fmt.Errorf("sale %s is over", sale)
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
	return "", ctx.Err()
}

// token asks for the user's pre-order token; "" when refused (the reason is counted).
func (d *demoStats) token(ctx context.Context, c *demoClient, buyPath, user string) string {
	var res BuyResult
	code, err := c.do(ctx, "POST", strings.Replace(buyPath, "/buy/", "/token/", 1), user, "", nil, &res)
	d.requests.Add(1)
	if err == nil && code == http.StatusOK && res.Token != "" {
		return res.Token
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err != nil:
		d.errs.Add(1)
		d.rejected["transport_error"]++
	case res.Reason != "":
		d.rejected[res.Reason]++
	default:
		d.rejected["http_"+strconv.Itoa(code)]++
	}
	return ""
}

// pollOrder polls with jitter until the order is no longer pending or the deadline.
func pollOrder(ctx context.Context, c *demoClient, d *demoStats, id string, deadline time.Duration) string {
	end := time.Now().Add(deadline)
	for time.Now().Before(end) && ctx.Err() == nil {
		var v OrderView
		code, err := c.do(ctx, "GET", "/api/orders/"+id, "", "", nil, &v)
		d.requests.Add(1)
		if err == nil && code == 200 && v.Status != "pending" {
			return v.Status
		}
		sleepCtx(ctx, time.Duration(20+rand.IntN(40))*time.Millisecond)
	}
	return "pending"
}

// simulate runs one user of the given kind.
func simulate(ctx context.Context, c *demoClient, d *demoStats, sale, user string, kind int, payShare float64) {
	if kind == 0 { // bot: pre-fires a guessed path before the start
		d.buy(ctx, c, "/api/sales/"+sale+"/buy/guess", user, "forged")
	}
	path, err := buyPath(ctx, c, sale)
	d.requests.Add(1)
	if err != nil {
		d.errs.Add(1)
		return
	}
	var won []string
	add := func(id string) {
		if id != "" && !slices.Contains(won, id) {
			won = append(won, id)
		}
	}
	switch kind {
	case 0: // bot: skips the token page and hammers with forged tokens, no backoff
		for range 6 {
			_, id := d.buy(ctx, c, path, user, strconv.FormatUint(rand.Uint64(), 36))
			add(id)
		}
	case 1: // double-click: the same submission sent twice at once
		tok := d.token(ctx, c, path, user)
		if tok == "" {
			return
		}
		var wg sync.WaitGroup
		ids := make([]string, 2)
		for i := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); _, ids[i] = d.buy(ctx, c, path, user, tok) }()
		}
		wg.Wait()
		add(ids[0])
		add(ids[1])
	case 2: // opens the order page twice (same token) and submits twice
		for range 2 {
			if tok := d.token(ctx, c, path, user); tok != "" {
				_, id := d.buy(ctx, c, path, user, tok)
				add(id)
			}
		}
	default: // normal user: retries the same submission on 429/409/5xx with backoff
		tok := d.token(ctx, c, path, user)
		for attempt := 0; tok != "" && attempt < 4; attempt++ {
			code, id := d.buy(ctx, c, path, user, tok)
			add(id)
			if code != http.StatusTooManyRequests && code != http.StatusConflict && code < 500 && code != 0 {
				break
			}
			sleepCtx(ctx, time.Duration(100*(attempt+1)+rand.IntN(100))*time.Millisecond)
		}
	}
	for _, id := range won {
		if pollOrder(ctx, c, d, id, 15*time.Second) != "reserved" {
			continue
		}
		if rand.Float64() < payShare {
			code, _ := c.do(ctx, "POST", "/api/orders/"+id+"/pay", user, "", nil, nil)
			d.requests.Add(1)
			if code == http.StatusOK {
				d.mu.Lock()
				d.paid[id] = true
				d.mu.Unlock()
			}
		}
	}
}

func runUsers(ctx context.Context, conc, n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func createSale(ctx context.Context, c *demoClient, req CreateSaleRequest) error {
	var out map[string]any
	code, err := c.do(ctx, "POST", "/admin/sales", "", "", req, &out)
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return fmt.Errorf("create sale: HTTP %d %v", code, out)
	}
	return nil
}

// blast fires n buy requests from n distinct users at path with conc clients and
// returns requests/s and latency percentiles. tokens[i] is user i's pre-order token
// (fetched before the clock starts: users open the order page before the moment).
func blast(ctx context.Context, c *demoClient, conc, n int, path, userPrefix string, tokens []string) (float64, time.Duration, time.Duration, int64) {
	lat := make([]time.Duration, n)
	var accepted atomic.Int64
	t0 := time.Now()
	runUsers(ctx, conc, n, func(i int) {
		s := time.Now()
		code, _ := c.do(ctx, "POST", path, userPrefix+strconv.Itoa(i), tokens[i], nil, nil)
		lat[i] = time.Since(s)
		if code == http.StatusAccepted {
			accepted.Add(1)
		}
	})
	el := time.Since(t0)
	return float64(n) / el.Seconds(), percentile(lat, .5), percentile(lat, .99), accepted.Load()
}

// runDemo drives a whole sale through the HTTP API and checks the books.
func runDemo(ctx context.Context, o demoOptions, base string, svc *Service, w io.Writer) error {
	rep, err := demo(ctx, o, base, svc, w)
	if rep != nil {
		printReport(w, rep)
	}
	return err
}

func demo(ctx context.Context, o demoOptions, base string, svc *Service, w io.Writer) (*DemoReport, error) {
	c := newDemoClient(base, o.concurrency)
	sale := "demo-" + randHex(3)
	rep := &DemoReport{Stock: o.stock, Users: o.users}
	fmt.Fprintf(w, "seckill demo: %d users, %d units, %d concurrent clients, pay timeout %s, server %s\n",
		o.users, o.stock, o.concurrency, o.payTimeout, base)
	if err := createSale(ctx, c, CreateSaleRequest{ID: sale, Item: "Demo phone", PriceCents: 19900,
		Stock: int64(o.stock), PerUserLimit: 1, StartsInMs: 1000, PayTimeoutMs: o.payTimeout.Milliseconds()}); err != nil {
		return nil, err
	}

	// Phase 1: the flash. Every user waits for the start, learns the buy path, buys
	// according to its kind, polls the result and (maybe) pays.
	d := newDemoStats()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				cnt, _ := svc.inv.Counts(ctx, sale)
				d.mu.Lock()
				acc := len(d.orders)
				d.mu.Unlock()
				fmt.Fprintf(w, "  … %6d requests, %5d accepted, available %d\n", d.requests.Load(), acc, cnt.Available)
			}
		}
	}()
	t0 := time.Now()
	runUsers(ctx, o.concurrency, o.users, func(i int) {
		simulate(ctx, c, d, sale, "u"+strconv.Itoa(i), i%20, o.payShare)
	})
	close(done)
	rep.FlashDuration = time.Since(t0)
	rep.Requests, rep.BuyRequests = d.requests.Load(), d.buys.Load()
	rep.Accepted, rep.DuplicateReplies = int64(len(d.orders)), d.dupReplies.Load()
	rep.Rejected = d.rejected
	rep.P50, rep.P99 = percentile(d.lat, .5), percentile(d.lat, .99)
	rep.Paid = int64(len(d.paid))
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}

	// Phase 2: unpaid orders time out (a durable Redis job), their stock returns and a
	// second wave buys it.
	fmt.Fprintf(w, "  waiting for %d unpaid orders to time out …\n", rep.Accepted-rep.Paid)
	deadline := time.Now().Add(o.payTimeout + 10*time.Second)
	for {
		cnt, err := svc.inv.Counts(ctx, sale)
		if err != nil {
			return rep, err
		}
		if cnt.Reserved == 0 {
			rep.SecondWaveUnits = cnt.Available
			break
		}
		if time.Now().After(deadline) {
			return rep, fmt.Errorf("%d orders never released", cnt.Reserved)
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	// Second wave: new users buy what came back, until it is gone (a few rounds, as a
	// slow machine can make a user's poll deadline pass).
	d2 := newDemoStats()
	for round := 0; round < 5; round++ {
		cnt, err := svc.inv.Counts(ctx, sale)
		if err != nil {
			return rep, err
		}
		if cnt.Available == 0 {
			break
		}
		wave := int(cnt.Available) + 20
		runUsers(ctx, min(o.concurrency, 64), wave, func(i int) {
			simulate(ctx, c, d2, sale, fmt.Sprintf("late%d-%d", round, i), 3, 1)
		})
	}
	rep.Resold = int64(len(d2.paid))
	for id, u := range d2.orders {
		d.orders[id] = u
	}
	rep.Accepted = int64(len(d.orders))

	// The books: Redis counters, the DB and every accepted order id.
	rec, err := svc.Reconcile(ctx, sale, 10*time.Second)
	if err != nil {
		return rep, err
	}
	rep.Final = rec
	rep.Released = rec.DBReleased
	// Per-user limit 1: nobody may hold two live orders. (A user whose unpaid order
	// was released may buy again, so counting accepted orders per user would be wrong.)
	if rep.UsersOverLimit, err = svc.store.UsersOverLimit(ctx, sale, 1); err != nil {
		return rep, err
	}
	for id := range d.orders {
		v, err := svc.Order(ctx, id)
		if err != nil || !v.Persisted {
			rep.MissingInDB++
		}
	}

	// Phase 3: the same blast of buy requests (distinct users, same concurrency)
	// against the surge pipeline and against the naive handler.
	if o.blast <= 0 {
		return rep, demoProblems(rep, o)
	}
	rep.BlastRequests = o.blast
	sale2 := "blast-" + randHex(3)
	if err := createSale(ctx, c, CreateSaleRequest{ID: sale2, Item: "Blast", Stock: int64(o.stock), PerUserLimit: 1}); err != nil {
		return rep, err
	}
	sl, err := svc.sales.Get(ctx, sale2)
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(w, "  blast: %d users fetch their pre-order tokens …\n", rep.BlastRequests)
	tokens := make([]string, rep.BlastRequests)
	runUsers(ctx, o.concurrency, rep.BlastRequests, func(i int) {
		tokens[i], _ = svc.idem.IssueToken(ctx, tokenOwner(sale2, "b"+strconv.Itoa(i)))
	})
	fmt.Fprintf(w, "  blast: %d buys against surge …\n", rep.BlastRequests)
	rep.SurgeRPS, rep.SurgeP50, rep.SurgeP99, rep.SurgeBlastSold = blast(ctx, c, o.concurrency, rep.BlastRequests,
		"/api/sales/"+sale2+"/buy/"+sl.BuyPath, "b", tokens)
	nv := newNaive(svc.rdb, svc.store, svc.cfg.Prefix)
	if err := nv.load(ctx, sale2, int64(o.stock)); err != nil {
		return rep, err
	}
	fmt.Fprintf(w, "  blast: %d buys against the naive handler …\n", rep.BlastRequests)
	rep.NaiveRPS, rep.NaiveP50, rep.NaiveP99, rep.NaiveAccepted = blast(ctx, c, o.concurrency, rep.BlastRequests,
		"/naive/"+sale2+"/buy", "n", tokens)
	rep.NaiveOversold = max(0, rep.NaiveAccepted-int64(o.stock))
	if rec2, err := svc.Reconcile(ctx, sale2, 10*time.Second); err != nil || !rec2.OK {
		return rep, fmt.Errorf("blast sale books differ: %+v %v", rec2, err)
	}

	return rep, demoProblems(rep, o)
}

func demoProblems(rep *DemoReport, o demoOptions) error {
	rec := rep.Final
	var problems []error
	if !rec.OK {
		problems = append(problems, fmt.Errorf("reconciliation: %s", rec.Explanation))
	}
	if rec.Oversold > 0 || rep.SurgeBlastSold > int64(o.stock) {
		problems = append(problems, errors.New("OVERSOLD"))
	}
	if rep.MissingInDB > 0 {
		problems = append(problems, fmt.Errorf("%d accepted orders missing in the DB", rep.MissingInDB))
	}
	if rep.UsersOverLimit > 0 {
		problems = append(problems, fmt.Errorf("%d users got more than one order", rep.UsersOverLimit))
	}
	return errors.Join(problems...)
}

func printReport(w io.Writer, r *DemoReport) {
	fmt.Fprintf(w, "\n== flash sale: %d users, %d units ==\n", r.Users, r.Stock)
	fmt.Fprintf(w, "requests        %d in %s (%.0f req/s), of which buys %d (%.0f buys/s)\n",
		r.Requests, r.FlashDuration.Round(time.Millisecond), float64(r.Requests)/r.FlashDuration.Seconds(),
		r.BuyRequests, float64(r.BuyRequests)/r.FlashDuration.Seconds())
	fmt.Fprintf(w, "buy latency     p50 %s  p99 %s\n", r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond))
	fmt.Fprintf(w, "accepted        %d orders incl. second wave (+%d duplicate replies of the same order)\n", r.Accepted, r.DuplicateReplies)
	reasons := make([]string, 0, len(r.Rejected))
	for k := range r.Rejected {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Fprintf(w, "rejected        %-16s %d\n", k, r.Rejected[k])
	}
	fmt.Fprintf(w, "paid            %d in the flash; unpaid orders released by the timeout job %d; second wave bought %d of %d units back on sale\n",
		r.Paid, r.Released, r.Resold, r.SecondWaveUnits)
	f := r.Final
	fmt.Fprintf(w, "\n== the books ==\n")
	fmt.Fprintf(w, "stock %d − available %d = %d   redis reserved %d + sold %d = %d\n",
		f.Stock, f.Available, f.Stock-f.Available, f.Reserved, f.Sold, f.Reserved+f.Sold)
	fmt.Fprintf(w, "db orders: paid %d, reserved %d, released %d (rows %d)\n", f.DBPaid, f.DBReserved, f.DBReleased, f.DBOrders)
	fmt.Fprintf(w, "stock outbox replayed: %d events, journal mismatches %d, drift %v\n", f.OutboxEvents, f.JournalMismatch, f.OutboxDrift)
	fmt.Fprintf(w, "oversold %d, users with >1 order %d, accepted orders missing in db %d → %s\n",
		max(0, f.Oversold), r.UsersOverLimit, r.MissingInDB, okStr(f.OK && f.Oversold <= 0 && r.MissingInDB == 0 && r.UsersOverLimit == 0))
	if r.BlastRequests > 0 && r.NaiveRPS > 0 {
		fmt.Fprintf(w, "\n== same blast, %d buy requests from distinct users ==\n", r.BlastRequests)
		fmt.Fprintf(w, "surge pipeline  %8.0f req/s  p50 %-10s p99 %-10s sold %d of %d\n", r.SurgeRPS,
			r.SurgeP50.Round(time.Microsecond), r.SurgeP99.Round(time.Microsecond), r.SurgeBlastSold, r.Stock)
		fmt.Fprintf(w, "naive handler   %8.0f req/s  p50 %-10s p99 %-10s sold %d of %d (oversold %d)\n", r.NaiveRPS,
			r.NaiveP50.Round(time.Microsecond), r.NaiveP99.Round(time.Microsecond), r.NaiveAccepted, r.Stock, r.NaiveOversold)
		fmt.Fprintf(w, "ratio           %.2fx\n", r.SurgeRPS/r.NaiveRPS)
	}
}

func okStr(ok bool) string {
	if ok {
		return "OK"
	}
	return "FAILED"
}
