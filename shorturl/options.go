package shorturl

import (
	"strings"
	"time"
)

// Option configures an Allocator or a Shortener.
type Option func(*config)

type config struct {
	prefix    string
	name      string
	minStep   int64
	maxStep   int64
	target    time.Duration
	marks     MarkStore
	perm      *Permutation
	schemes   []string
	maxURLLen int
	dedupe    bool
	grace     time.Duration
	now       func() time.Time
}

func defaultConfig() config {
	return config{
		prefix:    "surge:",
		name:      "ids",
		minStep:   1000,
		maxStep:   1 << 20,
		target:    30 * time.Second,
		schemes:   []string{"http", "https"},
		maxURLLen: 2048,
		grace:     7 * 24 * time.Hour,
		now:       time.Now,
	}
}

// WithPrefix sets the key prefix (default "surge:").
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithCounterName names the ID counter (default "ids"); allocators that share a
// name share one ID space.
func WithCounterName(name string) Option { return func(c *config) { c.name = name } }

// WithSegmentSize bounds the adaptive segment size: each INCRBY reserves between
// min and max IDs (defaults 1000 and 1<<20). The size doubles when a segment
// lasted less than half of target and halves when it lasted more than twice
// target (default target 30s), so a busy process talks to Redis about once per
// target period and an idle one wastes few IDs when it stops.
func WithSegmentSize(min, max int64, target time.Duration) Option {
	return func(c *config) { c.minStep, c.maxStep, c.target = min, max, target }
}

// WithMarkStore adds a high-water mark kept outside the counter's Redis (a SQL
// row, a file, another Redis with AOF): the allocator never uses an ID at or
// below the mark, and records every segment's end there before using it. Without
// it the mark lives next to the counter, which catches a counter key that was
// reset or restored, but not a failover that loses both (see doc.go).
func WithMarkStore(m MarkStore) Option { return func(c *config) { c.marks = m } }

// WithPermutation turns on non-sequential codes: every ID is passed through p
// and written in exactly p.Width() characters.
func WithPermutation(p *Permutation) Option { return func(c *config) { c.perm = p } }

// WithSchemes sets the URL scheme allow-list (default http, https).
func WithSchemes(schemes ...string) Option {
	return func(c *config) {
		c.schemes = nil
		for _, s := range schemes {
			c.schemes = append(c.schemes, strings.ToLower(s))
		}
	}
}

// WithMaxURLLength sets the longest accepted URL in bytes (default 2048).
func WithMaxURLLength(n int) Option { return func(c *config) { c.maxURLLen = n } }

// WithDedupe makes Shorten return the live link that the same owner already
// made for the same long URL instead of a new code.
func WithDedupe() Option { return func(c *config) { c.dedupe = true } }

// WithTombstone sets how long an expired link is remembered so that it answers
// 410 Gone rather than 404 (default 7 days).
func WithTombstone(d time.Duration) Option { return func(c *config) { c.grace = d } }

// WithClock replaces time.Now (expiry decisions; for tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func (c *config) validate() error {
	switch {
	case c.prefix == "" || strings.ContainsAny(c.prefix, "{}"):
		return errorf("prefix must be non-empty and free of braces")
	case c.name == "" || strings.ContainsAny(c.name, "{}"):
		return errorf("counter name must be non-empty and free of braces")
	case c.minStep < 1 || c.maxStep < c.minStep || c.maxStep > 1<<40:
		return errorf("segment size needs 1 <= min <= max <= 2^40")
	case c.target <= 0:
		return errorf("segment target duration must be positive")
	case len(c.schemes) == 0:
		return errorf("scheme allow-list is empty")
	case c.maxURLLen < 1:
		return errorf("max URL length must be positive")
	case c.grace < 0:
		return errorf("tombstone duration must not be negative")
	case c.now == nil:
		return errorf("clock is nil")
	}
	return nil
}
