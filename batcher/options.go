package batcher

import (
	"context"
	"fmt"
	"time"
)

// Defaults. They favour bounded memory and bounded latency over peak throughput:
// 100 items is the aggregation size the seckill order pipeline uses for one
// Kafka/DB write, 10ms is far below any user-visible latency, and the queue holds
// 64 full batches per shard before Add starts to push back.
const (
	DefaultMaxItems  = 100
	DefaultMaxWait   = 10 * time.Millisecond
	DefaultQueueSize = 64 * DefaultMaxItems
	DefaultKeyShards = 16
)

type config struct {
	maxItems     int
	maxBytes     int
	maxWait      time.Duration
	shards       int
	shardsSet    bool
	queue        int
	queueSet     bool
	attempts     int
	backoffBase  time.Duration
	backoffMax   time.Duration
	flushTimeout time.Duration

	// Typed callbacks are stored as any because Option is not generic (so that
	// batcher.WithMaxItems(10) needs no type argument); New asserts them against T.
	key        any // func(T) string
	keyHash    any // func(T) uint64
	size       any // func(T) int
	deadLetter any // func(context.Context, []T, error)
	onError    func(error)

	err error // first invalid option
}

// Option configures a Batcher. Invalid values make New return an error wrapping
// ErrInvalid; they are never silently clamped.
type Option func(*config)

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
}

// WithMaxItems flushes a batch as soon as it holds n items (n ≥ 1, default 100).
func WithMaxItems(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("max items %d < 1", n)
			return
		}
		c.maxItems = n
	}
}

// WithMaxBytes flushes a batch before it would exceed n bytes as measured by the
// size function of WithSize (required with this option). A single item larger
// than n is flushed alone.
func WithMaxBytes(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("max bytes %d < 1", n)
			return
		}
		c.maxBytes = n
	}
}

// WithSize sets the function measuring an item's size in bytes for WithMaxBytes
// (and the Bytes statistic). It runs on the caller's goroutine inside Add and must
// be cheap and must not panic. T must be the batcher's item type.
func WithSize[T any](size func(T) int) Option {
	return func(c *config) {
		if size == nil {
			c.fail("nil size function")
			return
		}
		c.size = size
	}
}

// WithMaxWait bounds how long the first item of a batch waits before the batch is
// flushed even if it is not full (d > 0, default 10ms).
func WithMaxWait(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("max wait %v <= 0", d)
			return
		}
		c.maxWait = d
	}
}

// WithKey shards items by key: items with the same key go to the same shard, and a
// shard has at most one batch in flight, so items of one key are flushed in the
// order they were accepted. Different shards flush concurrently. The function runs
// on the caller's goroutine inside Add. T must be the batcher's item type.
func WithKey[T any](key func(T) string) Option {
	return func(c *config) {
		if key == nil {
			c.fail("nil key function")
			return
		}
		c.key = key
	}
}

// WithKeyHash is WithKey for keys that already are (or cheaply map to) an
// integer, such as a user or SKU id: items whose function returns the same value
// share a shard and keep their order, and no string is built or hashed per item.
// The value is mixed before choosing a shard, so sequential ids spread evenly.
// Use either WithKey or WithKeyHash. T must be the batcher's item type.
func WithKeyHash[T any](key func(T) uint64) Option {
	return func(c *config) {
		if key == nil {
			c.fail("nil key hash function")
			return
		}
		c.keyHash = key
	}
}

// WithShards sets the number of shards (1..4096). Default: 16 with WithKey or WithKeyHash, else 1
// (a single shard keeps global FIFO order). Without a key, each call goes to a
// shard that is sticky per CPU (P), so several shards add flush concurrency and
// spread lock traffic, but a producer's items may be flushed out of order.
func WithShards(n int) Option {
	return func(c *config) {
		if n < 1 || n > 4096 {
			c.fail("shards %d not in 1..4096", n)
			return
		}
		c.shards, c.shardsSet = n, true
	}
}

// WithQueueSize bounds the items a shard holds that were accepted but whose batch
// has not finished (pending, waiting or in flight). Add blocks and TryAdd returns
// ErrFull when it is reached. Default 6400 per shard.
func WithQueueSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("queue size %d < 1", n)
			return
		}
		c.queue, c.queueSet = n, true
	}
}

// WithRetry makes a failed batch be retried up to attempts times in total
// (attempts ≥ 1; 1 = no retry, the default, because only the flush function knows
// whether its sink tolerates duplicates). Waits grow exponentially from base up to
// max with jitter. The shard waits for the retries, which preserves per-key order.
// Errors wrapped with Permanent are not retried.
func WithRetry(attempts int, base, max time.Duration) Option {
	return func(c *config) {
		if attempts < 1 || base < 0 || max < base {
			c.fail("retry attempts=%d base=%v max=%v", attempts, base, max)
			return
		}
		c.attempts, c.backoffBase, c.backoffMax = attempts, base, max
	}
}

// WithFlushTimeout gives each flush attempt a context with this timeout (default:
// none; the flush context is never canceled by the batcher).
func WithFlushTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("flush timeout %v <= 0", d)
			return
		}
		c.flushTimeout = d
	}
}

// WithDeadLetter receives every batch that finally failed (after retries), with
// its last error, before its futures complete. It runs on the shard goroutine; a
// panic in it is recovered and counted. The slice is only valid during the call.
// T must be the batcher's item type.
func WithDeadLetter[T any](fn func(ctx context.Context, items []T, err error)) Option {
	return func(c *config) {
		if fn == nil {
			c.fail("nil dead-letter function")
			return
		}
		c.deadLetter = fn
	}
}

// WithErrorHandler is called with the final error of every failed batch (after the
// dead-letter callback), e.g. to log it. It runs on the shard goroutine.
func WithErrorHandler(fn func(error)) Option {
	return func(c *config) {
		if fn == nil {
			c.fail("nil error handler")
			return
		}
		c.onError = fn
	}
}
