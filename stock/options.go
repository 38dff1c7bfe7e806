package stock

import (
	"fmt"
	"time"
)

// Option configures New.
type Option func(*config)

type config struct {
	prefix       string
	journalTTL   time.Duration
	orderTimeout time.Duration
	checkHorizon time.Duration
	groupOf      func(sku string) string
	gateTTL      time.Duration
	combineMax   int
	combineWait  time.Duration
}

func defaults() config {
	return config{
		prefix:       "surge:",
		journalTTL:   7 * 24 * time.Hour,
		orderTimeout: 30 * time.Minute,
		checkHorizon: 24 * time.Hour,
		groupOf:      func(sku string) string { return sku },
		combineWait:  5 * time.Second,
	}
}

// WithPrefix sets the key prefix (default "surge:"). It may not contain '{' or '}':
// the first brace pair of a key is its hash tag and must be the group.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithJournalTTL sets how long an op's journal entry is kept at least (default 7 days,
// whole seconds). Entries live between TTL and 2×TTL (two rotating generations). It
// must outlive order timeout + check-back horizon, or a late retry, a late reverted op
// or a late check-back would find no entry and be answered as new. Every process
// sharing the keys must use the same TTL: it selects the generation keys.
func WithJournalTTL(d time.Duration) Option { return func(c *config) { c.journalTTL = d } }

// WithOrderTimeout declares how long a reservation may stay unpaid before the caller
// releases it (default 30 min). Used only to validate the journal TTL.
func WithOrderTimeout(d time.Duration) Option { return func(c *config) { c.orderTimeout = d } }

// WithCheckBackHorizon declares how long after an op a check-back or a retry may still
// come (default 24 h). Used only to validate the journal TTL.
func WithCheckBackHorizon(d time.Duration) Option {
	return func(c *config) { c.checkHorizon = d }
}

// WithGroupOf maps a SKU to its group (default: the SKU is its own group). SKUs of one
// group share a hash tag, so one op may deduct several of them atomically on a cluster.
func WithGroupOf(f func(sku string) string) Option { return func(c *config) { c.groupOf = f } }

// WithSoldOutGate turns on the local sold-out gate: once this process sees a SKU with
// nothing left to sell, further deducts/reserves of it fail with ErrSoldOut without a
// round trip, for ttl (after which one call goes to Redis again, so a restock by
// another process is noticed). Restock and Reopen in this process reopen at once.
func WithSoldOutGate(ttl time.Duration) Option { return func(c *config) { c.gateTTL = ttl } }

// WithCombiner turns on the client-side combiner: concurrent Deduct/Reserve calls of
// one group are merged into one script call of at most maxBatch ops (smart batching:
// a call goes out at once when none of its group is in flight, others accumulate
// meanwhile). Each op is still journaled and answered individually. wait bounds one
// combined script call (it runs detached from any single caller's context).
func WithCombiner(maxBatch int, wait time.Duration) Option {
	return func(c *config) { c.combineMax, c.combineWait = maxBatch, wait }
}

func (c *config) validate() error {
	if c.prefix == "" || len(c.prefix) > 64 || containsAny(c.prefix, "{}") {
		return fmt.Errorf("%w: prefix %q (1..64 bytes, no braces)", ErrInvalid, c.prefix)
	}
	if c.journalTTL < time.Second || c.journalTTL%time.Second != 0 {
		return fmt.Errorf("%w: journal TTL %v (whole seconds, ≥ 1s)", ErrInvalid, c.journalTTL)
	}
	if c.orderTimeout < 0 || c.checkHorizon < 0 {
		return fmt.Errorf("%w: negative order timeout or check-back horizon", ErrInvalid)
	}
	if c.journalTTL < c.orderTimeout+c.checkHorizon {
		return fmt.Errorf("%w: journal TTL %v shorter than order timeout %v + check-back horizon %v",
			ErrInvalid, c.journalTTL, c.orderTimeout, c.checkHorizon)
	}
	if c.groupOf == nil {
		return fmt.Errorf("%w: nil group function", ErrInvalid)
	}
	if c.gateTTL < 0 {
		return fmt.Errorf("%w: negative sold-out gate TTL", ErrInvalid)
	}
	if c.combineMax < 0 || c.combineMax > maxBatch {
		return fmt.Errorf("%w: combiner batch %d (0..%d)", ErrInvalid, c.combineMax, maxBatch)
	}
	if c.combineMax > 0 && c.combineWait <= 0 {
		return fmt.Errorf("%w: combiner wait must be > 0", ErrInvalid)
	}
	return nil
}
