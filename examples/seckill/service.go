package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/batcher"
	"github.com/surgekit/surge/idempotency"
	"github.com/surgekit/surge/ratelimit"
	"github.com/surgekit/surge/stock"
)

// Config tunes the service; the zero value gets safe defaults from withDefaults.
type Config struct {
	Prefix          string        // Redis key prefix (default "surge:seckill:")
	AdminToken      string        // Bearer token for /admin; empty = open (logged as a warning)
	UserRate        float64       // buy attempts per second per user (default 5)
	UserBurst       int           // burst per user (default 5)
	GateTTL         time.Duration // how long a seen sold-out is trusted locally (default 300ms)
	ReleaseInterval time.Duration // how often due unpaid orders are released (default 200ms)
	Consumers       int           // outbox consumers per sale feeding the batcher (default 32)
	RedisRateLimit  bool          // per-user limit shared by all instances (GCRA on Redis) instead of per instance
	Logger          *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "surge:seckill:"
	}
	if c.UserRate <= 0 {
		c.UserRate = 5
	}
	if c.UserBurst <= 0 {
		c.UserBurst = 5
	}
	if c.GateTTL <= 0 {
		c.GateTTL = 300 * time.Millisecond
	}
	if c.ReleaseInterval <= 0 {
		c.ReleaseInterval = 200 * time.Millisecond
	}
	if c.Consumers <= 0 {
		c.Consumers = 32
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

var (
	ErrUnknownSale = errors.New("seckill: unknown sale")
	errBadInput    = errors.New("seckill: bad input")
)

// Service is the flash-sale service: it composes the inventory (Redis), the SQL
// store, the outbox consumers, the delayed-release worker and the HTTP API.
type Service struct {
	cfg    Config
	log    *slog.Logger
	rdb    redis.UniversalClient
	store  *Store
	inv    *inventory
	idem   *idempotency.Store
	orders *batcher.Batcher[Event]

	sales        *saleCache
	limiter      ratelimit.Decider
	limiterStats func() ratelimit.Stats
	recent       *recentOrders
	metrics      *metrics

	mu        sync.Mutex
	consumers map[string]bool // sale -> consumer started
	bgCtx     context.Context
	bgStop    context.CancelFunc
	relStop   context.CancelFunc
	wg        sync.WaitGroup // consumers
	relWG     sync.WaitGroup // release worker
	closed    atomic.Bool

	persistBatches, persistEvents, persistErrors atomic.Int64
	releasesDue, releasesDone, releaseErrors     atomic.Int64
}

// NewService wires a service from the surge packages; Start launches its background
// workers and Close stops and drains them.
func NewService(cfg Config, rdb redis.UniversalClient, store *Store) (*Service, error) {
	cfg = cfg.withDefaults()
	s := &Service{
		cfg:       cfg,
		log:       cfg.Logger,
		rdb:       rdb,
		store:     store,
		consumers: map[string]bool{},
		recent:    newRecentOrders(1 << 16),
	}
	var err error
	if s.inv, err = newInventory(rdb, cfg.Prefix, cfg.GateTTL); err != nil {
		return nil, err
	}
	// Pre-order tokens: a duplicate submission waits for the first one's outcome and
	// gets the same order replayed instead of a 409.
	if s.idem, err = idempotency.New(rdb, idempotency.WithPrefix(cfg.Prefix), idempotency.WithWait(3*time.Second)); err != nil {
		return nil, err
	}
	lim := ratelimit.Limit{Interval: time.Duration(float64(time.Second) / cfg.UserRate), Burst: cfg.UserBurst}
	if cfg.RedisRateLimit {
		rl, err := ratelimit.New(rdb, lim, ratelimit.WithPrefix(cfg.Prefix), ratelimit.WithFallback(1))
		if err != nil {
			return nil, err
		}
		s.limiter, s.limiterStats = rl, rl.Stats
	} else {
		rl, err := ratelimit.NewLocal(lim)
		if err != nil {
			return nil, err
		}
		s.limiter, s.limiterStats = rl, rl.Stats
	}
	// Order events from the stock outbox are aggregated into one SQL transaction per
	// batch; one shard keeps them in stream order.
	if s.orders, err = batcher.New(s.persist, batcher.WithMaxItems(512), batcher.WithMaxWait(2*time.Millisecond)); err != nil {
		return nil, err
	}
	if s.sales, err = newSaleCache(rdb, cfg.Prefix, store, time.Second); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s)
	return s, nil
}

// Start resumes outbox consumers for every known sale and starts the release worker.
func (s *Service) Start(ctx context.Context) error {
	s.bgCtx, s.bgStop = context.WithCancel(context.WithoutCancel(ctx))
	sales, err := s.store.Sales(ctx)
	if err != nil {
		return err
	}
	for _, sl := range sales {
		s.startConsumer(sl.ID)
	}
	var relCtx context.Context
	relCtx, s.relStop = context.WithCancel(s.bgCtx)
	s.relWG.Add(1)
	go func() { defer s.relWG.Done(); s.releaseLoop(relCtx) }()
	return nil
}

// Close stops background work and drains: every outbox entry already in Redis is
// persisted before Close returns (nothing accepted is lost). Call after the HTTP
// server has stopped accepting requests.
func (s *Service) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) || s.bgStop == nil {
		return nil
	}
	// 1. No new releases (they would create outbox events).
	s.relStop()
	s.relWG.Wait()
	// 2. Let the consumers persist everything already in the outboxes: the books are
	//    drained when the DB holds exactly the reserved and paid units Redis holds.
	s.mu.Lock()
	sales := make([]string, 0, len(s.consumers))
	for sale := range s.consumers {
		sales = append(sales, sale)
	}
	s.mu.Unlock()
	var drainErr error
	for _, sale := range sales {
		wait := time.Until(deadlineOr(ctx, 20*time.Second))
		r, err := s.drained(ctx, sale, wait)
		if err == nil && !r.OK {
			err = fmt.Errorf("sale %s not drained: %s", sale, r.Explanation)
		}
		drainErr = errors.Join(drainErr, err)
	}
	// 3. Stop the consumers, flush the batcher, close the packages.
	s.bgStop()
	s.wg.Wait()
	err := errors.Join(drainErr, s.orders.Close(ctx), s.inv.st.Close(), s.idem.Close())
	if c, ok := s.limiter.(interface{ Close() error }); ok {
		err = errors.Join(err, c.Close())
	}
	if err != nil {
		return fmt.Errorf("seckill: drain: %w", err)
	}
	return nil
}

func deadlineOr(ctx context.Context, d time.Duration) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(d)
}

func (s *Service) startConsumer(sale string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumers[sale] || s.bgCtx == nil {
		return
	}
	s.consumers[sale] = true
	host, _ := os.Hostname()
	instance := randHex(3) // two services in one process must not share consumer names
	for i := range s.cfg.Consumers {
		cfg := stock.ConsumerConfig{
			Group: sale, ConsumerGroup: "seckill-orders", Batch: 8, Block: 250 * time.Millisecond, MinIdle: 5 * time.Second,
			Consumer: fmt.Sprintf("%s-%d-%s-%d", host, os.Getpid(), instance, i),
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := s.inv.st.Consume(s.bgCtx, cfg, s.consume)
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("outbox consumer stopped", "sale", sale, "err", err)
			}
		}()
	}
}

// consume hands one outbox event to the order batcher and returns only once the
// batch that holds it is committed, so the outbox entry is acknowledged after the
// order is in the database (at least once; persist is idempotent by op id). Several
// consumers per sale keep the batcher fed while each waits.
//
// Ordering: a confirm needs the order row (Pay reads the owner from the DB) and a
// release needs the timeout job written after the row, so an order's settlement can
// never overtake its insert.
func (s *Service) consume(ctx context.Context, sev stock.Event) error {
	ev, ok := eventOf(sev)
	if !ok {
		return nil
	}
	f, err := s.orders.Submit(ctx, ev)
	if err != nil {
		return err
	}
	return f.Wait(ctx)
}

// persist is the batcher's flush: one SQL transaction per batch, then the pay-timeout
// jobs for new reservations, all before any of the batch's outbox entries is
// acknowledged; a crash anywhere redelivers, and both steps are idempotent.
func (s *Service) persist(ctx context.Context, evs []Event) error {
	if err := s.store.Persist(ctx, evs); err != nil {
		s.persistErrors.Add(1)
		s.log.Warn("persist orders", "events", len(evs), "err", err)
		return err
	}
	var zs []redis.Z
	for _, ev := range evs {
		if ev.Type != "reserve" {
			continue
		}
		sl, err := s.sales.Get(ctx, ev.Sale)
		if err != nil {
			return err
		}
		zs = append(zs, redis.Z{Score: float64(ev.At.UnixMilli() + sl.PayTimeoutMs), Member: ev.Sale + "|" + ev.Op})
	}
	if len(zs) > 0 {
		if err := s.rdb.ZAddNX(ctx, s.timeoutKey(), zs...).Err(); err != nil {
			return err
		}
	}
	s.persistBatches.Add(1)
	s.persistEvents.Add(int64(len(evs)))
	s.metrics.batchSize.Observe(float64(len(evs)))
	return nil
}

// timeoutKey is the durable delayed-job queue of unpaid orders: a ZSET scored by the
// pay deadline (unix ms), member "sale|order". Any instance may release due members;
// Release is idempotent, and the member is removed only after Release answered.
func (s *Service) timeoutKey() string { return s.cfg.Prefix + "pay-timeouts" }

func (s *Service) releaseLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReleaseInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.releaseDue(ctx, time.Now())
			if err != nil {
				if ctx.Err() == nil {
					s.releaseErrors.Add(1)
					s.log.Warn("release due orders", "err", err)
				}
				break
			}
			if n < 256 {
				break
			}
		}
	}
}

// releaseDue releases up to 256 orders whose pay deadline is before now.
func (s *Service) releaseDue(ctx context.Context, now time.Time) (int, error) {
	members, err := s.rdb.ZRangeByScore(ctx, s.timeoutKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: 256,
	}).Result()
	if err != nil {
		return 0, err
	}
	s.releasesDue.Add(int64(len(members)))
	for _, m := range members {
		sale, op, ok := strings.Cut(m, "|")
		if !ok {
			_ = s.rdb.ZRem(ctx, s.timeoutKey(), m).Err()
			continue
		}
		released, err := s.inv.Release(ctx, sale, op)
		switch {
		case err == nil:
			if released {
				s.releasesDone.Add(1)
			}
			s.inv.st.Reopen(sale) // released stock can be sold again
			s.log.Debug("released unpaid order", "sale", sale, "order", op)
		case errors.Is(err, ErrPaid):
		default:
			return 0, err
		}
		if err := s.rdb.ZRem(ctx, s.timeoutKey(), m).Err(); err != nil {
			return 0, err
		}
	}
	return len(members), nil
}

// ---- sales ----

// CreateSaleRequest is the admin body for creating a sale.
type CreateSaleRequest struct {
	ID           string `json:"id"`
	Item         string `json:"item"`
	Description  string `json:"description"`
	PriceCents   int64  `json:"price_cents"`
	Stock        int64  `json:"stock"`
	PerUserLimit int64  `json:"per_user_limit"`
	StartAt      string `json:"start_at"`       // RFC 3339; or
	StartsInMs   int64  `json:"starts_in_ms"`   // relative to now
	DurationMs   int64  `json:"duration_ms"`    // default 1h
	PayTimeoutMs int64  `json:"pay_timeout_ms"` // default 15 min
}

func validID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateSale validates, stores the sale, loads its stock into Redis, pre-warms the
// item cache and starts the sale's outbox consumer.
func (s *Service) CreateSale(ctx context.Context, req CreateSaleRequest) (Sale, error) {
	if req.ID == "" {
		req.ID = "sale-" + randHex(4)
	}
	now := time.Now()
	switch {
	case !validID(req.ID, 48):
		return Sale{}, fmt.Errorf("%w: id must be 1-48 of [A-Za-z0-9_-]", errBadInput)
	case req.Item == "" || len(req.Item) > 200 || len(req.Description) > 2000:
		return Sale{}, fmt.Errorf("%w: item must be 1-200 bytes, description ≤ 2000", errBadInput)
	case req.Stock < 0 || req.Stock > 1e9 || req.PriceCents < 0 || req.PerUserLimit < 0:
		return Sale{}, fmt.Errorf("%w: stock, price and per_user_limit must be ≥ 0", errBadInput)
	case req.DurationMs < 0 || req.PayTimeoutMs < 0 || req.StartsInMs < 0:
		return Sale{}, fmt.Errorf("%w: durations must be ≥ 0", errBadInput)
	}
	start := now.Add(time.Duration(req.StartsInMs) * time.Millisecond)
	if req.StartAt != "" {
		t, err := time.Parse(time.RFC3339, req.StartAt)
		if err != nil {
			return Sale{}, fmt.Errorf("%w: start_at: %v", errBadInput, err)
		}
		start = t
	}
	if req.DurationMs == 0 {
		req.DurationMs = int64(time.Hour / time.Millisecond)
	}
	if req.PayTimeoutMs == 0 {
		req.PayTimeoutMs = int64(15 * time.Minute / time.Millisecond)
	}
	sl := Sale{
		ID: req.ID, Item: req.Item, Description: req.Description, PriceCents: req.PriceCents,
		Stock: req.Stock, PerUserLimit: req.PerUserLimit, StartAt: start.UnixMilli(),
		EndAt: start.UnixMilli() + req.DurationMs, PayTimeoutMs: req.PayTimeoutMs,
		BuyPath: randHex(12),
	}
	created, err := s.store.CreateSale(ctx, sl)
	if err != nil {
		return Sale{}, err
	}
	if !created {
		return Sale{}, fmt.Errorf("%w: sale %s exists", errConflict, sl.ID)
	}
	if err := s.inv.Create(ctx, sl.ID, sl.Stock, sl.PerUserLimit); err != nil {
		return Sale{}, err
	}
	if err := s.sales.Warm(ctx, sl.ID); err != nil { // pre-warm before the start
		return Sale{}, err
	}
	s.startConsumer(sl.ID)
	s.log.Info("sale created", "sale", sl.ID, "stock", sl.Stock, "start", start.UTC().Format(time.RFC3339))
	return sl, nil
}

var errConflict = errors.New("seckill: conflict")

// Restock adds qty to a sale under op (idempotent by op, in Redis and in the DB).
func (s *Service) Restock(ctx context.Context, sale, op string, qty int64) error {
	if !validID(op, 64) || qty <= 0 || qty > 1e9 {
		return fmt.Errorf("%w: op must be 1-64 of [A-Za-z0-9_-], qty 1..1e9", errBadInput)
	}
	if _, err := s.sales.Get(ctx, sale); err != nil {
		return err
	}
	if err := s.inv.Restock(ctx, sale, op, qty); err != nil {
		return err
	}
	return s.sales.Update(ctx, sale, func(ctx context.Context) error {
		return s.store.Restock(ctx, sale, op, qty)
	})
}

// CloseSale stops a sale: further buys get 410.
func (s *Service) CloseSale(ctx context.Context, sale string) error {
	return s.sales.Update(ctx, sale, func(ctx context.Context) error {
		return s.store.CloseSale(ctx, sale)
	})
}

// orderID derives the reserve op id from (sale, user, pre-order token): a duplicate
// submission of the same token maps to the same op, which the stock journal answers
// as a duplicate even if the idempotency record were lost.
func orderID(sale, user, token string) string {
	h := sha256.Sum256([]byte(sale + "\x00" + user + "\x00" + token))
	return sale + "." + hex.EncodeToString(h[:12])
}

func saleOfOrder(id string) (string, bool) {
	sale, rest, ok := strings.Cut(id, ".")
	return sale, ok && validID(sale, 48) && len(rest) == 24
}

// BuyResult is what a buy attempt produced.
type BuyResult struct {
	OrderID   string `json:"order_id,omitempty"`
	Status    string `json:"status"`           // pending | rejected
	Reason    string `json:"reason,omitempty"` // why rejected
	Duplicate bool   `json:"duplicate,omitempty"`
	Token     string `json:"token,omitempty"` // answer of the token endpoint
}

// Reasons a buy is rejected (also the label of the buy counter).
const (
	reasonBadInput   = "bad_input"
	reasonNotStarted = "not_started"
	reasonEnded      = "ended"
	reasonBadPath    = "bad_path"
	reasonBadToken   = "bad_token"
	reasonRateLimit  = "rate_limited"
	reasonSoldOut    = "sold_out"
	reasonLimit      = "user_limit"
	reasonExpired    = "expired"
	reasonBusy       = "in_progress"
	reasonNoSale     = "no_sale"
	reasonError      = "error"
)

// gateway runs the checks shared by the token and the buy endpoints: sale window,
// dynamic path, local sold-out gate (no Redis round trip), per-user rate limit.
func (s *Service) gateway(ctx context.Context, sale, path, user string, now time.Time) (string, error) {
	if !validID(sale, 48) || !validID(user, 64) {
		return reasonBadInput, nil
	}
	sl, err := s.sales.Get(ctx, sale)
	if errors.Is(err, ErrUnknownSale) {
		return reasonNoSale, nil
	}
	if err != nil {
		return "", err
	}
	switch {
	case now.UnixMilli() < sl.StartAt:
		return reasonNotStarted, nil
	case sl.Closed || now.UnixMilli() >= sl.EndAt:
		return reasonEnded, nil
	case path != sl.BuyPath:
		return reasonBadPath, nil
	case s.inv.st.GateClosed(sale):
		return reasonSoldOut, nil
	}
	r, err := s.limiter.AllowN(ctx, "buy:"+user, 1)
	if err != nil {
		return "", err
	}
	if !r.Allowed {
		return reasonRateLimit, nil
	}
	return "", nil
}

func tokenOwner(sale, user string) idempotency.Key {
	return idempotency.Key{Scope: user, ID: "sale:" + sale}
}

// Token issues the user's one-time pre-order token for a sale (the same token again
// while it is unredeemed or its order stands), once the sale has started.
func (s *Service) Token(ctx context.Context, sale, path, user string, now time.Time) (BuyResult, error) {
	reason, err := s.gateway(ctx, sale, path, user, now)
	if err != nil {
		return BuyResult{}, err
	}
	if reason != "" {
		return BuyResult{Status: "rejected", Reason: reason}, nil
	}
	tok, err := s.idem.IssueToken(ctx, tokenOwner(sale, user))
	if err != nil {
		return BuyResult{}, err
	}
	return BuyResult{Status: "issued", Token: tok}, nil
}

var (
	errSoldOutTransient = errors.New("sold out")
	errOverLimit        = errors.New("over the per-user limit")
	errExpired          = errors.New("order expired")
	errNoSaleStock      = errors.New("sale has no stock record")
)

// Buy runs the buy pipeline: gateway (window, dynamic path, sold-out gate, rate
// limit) → redeem the pre-order token (surge idempotency: one order per token,
// duplicates get the same order replayed) → reserve (surge stock: journaled, op id
// derived from the token, combined with concurrent reserves into one script call).
// The order reaches the database through the stock outbox.
func (s *Service) Buy(ctx context.Context, sale, path, user, token string, now time.Time) (BuyResult, error) {
	rej := func(r string) (BuyResult, error) { return BuyResult{Status: "rejected", Reason: r}, nil }
	if token == "" || len(token) > 128 {
		return rej(reasonBadInput)
	}
	reason, err := s.gateway(ctx, sale, path, user, now)
	if err != nil {
		return BuyResult{}, err
	}
	if reason != "" {
		return rej(reason)
	}
	id := orderID(sale, user, token)
	res, err := s.idem.RedeemToken(ctx, tokenOwner(sale, user), token, func(ctx context.Context) ([]byte, error) {
		r, err := s.inv.Reserve(ctx, sale, id, user, false)
		if err != nil {
			return nil, err // outcome unknown: the token is released, a retry asks the journal
		}
		switch r.Outcome {
		case Reserved:
			return []byte(id), nil
		case SoldOut: // not stored: the token stays usable for stock that comes back
			return nil, errSoldOutTransient
		case OverLimit:
			return nil, errOverLimit
		case Expired:
			return nil, idempotency.Permanent(errExpired)
		}
		return nil, errNoSaleStock
	})
	switch {
	case err == nil:
		s.recent.Add(string(res.Value))
		return BuyResult{OrderID: string(res.Value), Status: "pending", Duplicate: res.Replayed}, nil
	case errors.Is(err, errSoldOutTransient):
		return rej(reasonSoldOut)
	case errors.Is(err, errOverLimit):
		return rej(reasonLimit)
	case errors.Is(err, errExpired), errors.Is(err, idempotency.ErrStoredFailure):
		return rej(reasonExpired)
	case errors.Is(err, errNoSaleStock):
		return rej(reasonNoSale)
	case errors.Is(err, idempotency.ErrTokenUnknown), errors.Is(err, idempotency.ErrInvalidInput):
		return rej(reasonBadToken)
	case errors.Is(err, idempotency.ErrInProgress):
		return rej(reasonBusy)
	}
	return BuyResult{}, err
}

// recentOrders remembers order ids this instance accepted, so that a poll arriving
// before the outbox consumer wrote the row answers "pending" rather than "unknown".
// Bounded: two generations of at most n ids each.
type recentOrders struct {
	mu       sync.Mutex
	n        int
	cur, old map[string]struct{}
}

func newRecentOrders(n int) *recentOrders {
	return &recentOrders{n: n, cur: map[string]struct{}{}, old: map[string]struct{}{}}
}

func (r *recentOrders) Add(id string) {
	r.mu.Lock()
	if len(r.cur) >= r.n {
		r.old, r.cur = r.cur, map[string]struct{}{}
	}
	r.cur[id] = struct{}{}
	r.mu.Unlock()
}

func (r *recentOrders) Has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, a := r.cur[id]
	_, b := r.old[id]
	return a || b
}

// OrderView is what the result-polling endpoint returns.
type OrderView struct {
	OrderID   string `json:"order_id"`
	SaleID    string `json:"sale_id"`
	Status    string `json:"status"` // pending | reserved | paid | released
	Persisted bool   `json:"persisted"`
	PayBy     int64  `json:"pay_by,omitempty"` // unix ms, while reserved
}

// Order answers a poll: the DB row once persisted; "pending" for an order this
// instance accepted that is still on its way through the outbox; else unknown.
func (s *Service) Order(ctx context.Context, id string) (OrderView, error) {
	sale, ok := saleOfOrder(id)
	if !ok {
		return OrderView{}, fmt.Errorf("%w: order id", errBadInput)
	}
	o, err := s.store.Order(ctx, id)
	if err == nil {
		v := OrderView{OrderID: id, SaleID: sale, Status: o.Status, Persisted: true}
		if o.Status == "reserved" {
			if sl, err := s.sales.Get(ctx, sale); err == nil {
				v.PayBy = o.CreatedAt + sl.PayTimeoutMs
			}
		}
		return v, nil
	}
	if !errors.Is(err, errNotFound) {
		return OrderView{}, err
	}
	if s.recent.Has(id) {
		return OrderView{OrderID: id, SaleID: sale, Status: "pending"}, nil
	}
	return OrderView{}, ErrUnknownOrder
}

// Pay confirms an order for its owner. The owner is read from the order row, so an
// order is payable once persisted (milliseconds after the buy; Pay waits up to 2 s).
func (s *Service) Pay(ctx context.Context, id, user string) error {
	sale, ok := saleOfOrder(id)
	if !ok || !validID(user, 64) {
		return fmt.Errorf("%w: order id or user", errBadInput)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		o, err := s.store.Order(ctx, id)
		if err == nil {
			if o.UserID != user {
				return ErrUnknownOrder // do not reveal other users' orders
			}
			break
		}
		if !errors.Is(err, errNotFound) {
			return err
		}
		if !s.recent.Has(id) || time.Now().After(deadline) {
			return ErrUnknownOrder
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s.inv.Confirm(ctx, sale, id)
}

// Reconciliation compares Redis counters, the DB and the sale's total stock.
type Reconciliation struct {
	Sale       string `json:"sale"`
	Stock      int64  `json:"stock"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
	Sold       int64  `json:"sold"`
	DBReserved int64  `json:"db_reserved"`
	DBPaid     int64  `json:"db_paid"`
	DBReleased int64  `json:"db_released"`
	DBOrders   int64  `json:"db_orders"`
	Oversold   int64  `json:"oversold"` // (reserved+sold) - stock, must be ≤ 0
	// From stock.Reconcile: outbox events replayed, journal entries that disagree
	// with the outbox, and whether the replayed totals differ from the counters.
	OutboxEvents    int    `json:"outbox_events"`
	JournalMismatch int    `json:"journal_mismatch"`
	OutboxDrift     bool   `json:"outbox_drift"`
	OK              bool   `json:"ok"`
	Explanation     string `json:"explanation,omitempty"`
}

// Reconcile checks stock − available == reserved + sold (Redis) and that the DB holds
// exactly the reserved and paid units Redis reports. The DB trails Redis by the
// outbox; wait bounds how long to let it catch up before reporting a difference.
//
// It then replays the sale's stock outbox against the counters and the journal
// (stock.Reconcile): every applied op in the journal must be in the outbox, and the
// outbox totals must equal the counters.
func (s *Service) Reconcile(ctx context.Context, sale string, wait time.Duration) (Reconciliation, error) {
	r, err := s.drained(ctx, sale, wait)
	if err != nil {
		return r, err
	}
	rep, err := s.inv.st.Reconcile(ctx, sale)
	if err != nil {
		return r, err
	}
	r.OutboxEvents = rep.Events
	r.JournalMismatch = len(rep.JournalMismatch)
	for _, d := range rep.SKUs {
		if d.Drift() {
			r.OutboxDrift = true
		}
	}
	if !rep.OK() {
		r.OK = false
		r.Explanation = strings.TrimPrefix(r.Explanation+"; outbox/journal disagree with the counters", "; ")
	}
	return r, nil
}

// drained waits (up to wait) until the DB holds exactly what the Redis counters say.
func (s *Service) drained(ctx context.Context, sale string, wait time.Duration) (Reconciliation, error) {
	deadline := time.Now().Add(wait)
	for {
		r, err := s.reconcileOnce(ctx, sale)
		if err != nil || r.OK || time.Now().After(deadline) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Service) reconcileOnce(ctx context.Context, sale string) (Reconciliation, error) {
	sl, err := s.store.Sale(ctx, sale)
	if errors.Is(err, errNotFound) {
		return Reconciliation{}, ErrUnknownSale
	}
	if err != nil {
		return Reconciliation{}, err
	}
	c, err := s.inv.Counts(ctx, sale)
	if err != nil {
		return Reconciliation{}, err
	}
	db, rows, err := s.store.OrderCounts(ctx, sale)
	if err != nil {
		return Reconciliation{}, err
	}
	r := Reconciliation{
		Sale: sale, Stock: sl.Stock, Available: c.Available, Reserved: c.Reserved, Sold: c.Sold,
		DBReserved: db["reserved"], DBPaid: db["paid"], DBReleased: db["released"], DBOrders: rows,
		Oversold: c.Reserved + c.Sold - sl.Stock,
	}
	var why []string
	if sl.Stock-c.Available != c.Reserved+c.Sold {
		why = append(why, "stock - available != reserved + sold")
	}
	if r.Oversold > 0 {
		why = append(why, "oversold")
	}
	if r.DBReserved != c.Reserved || r.DBPaid != c.Sold {
		why = append(why, "db differs from redis (outbox not yet drained?)")
	}
	r.OK = len(why) == 0
	r.Explanation = strings.Join(why, "; ")
	return r, nil
}
