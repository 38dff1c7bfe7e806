package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// scheduleDelete records a durable delete of redisKey at due. The schedule
// lives in Redis, so it survives the writer's process.
func (c *Cache[T]) scheduleDelete(ctx context.Context, redisKey string, due time.Time) error {
	dueKey, _, _, _ := c.cfg.ddKeys()
	if err := ddScheduleScript.Run(ctx, c.rdb, []string{dueKey}, due.UnixMilli(), redisKey).Err(); err != nil {
		c.stats.errors.Add(1)
		return fmt.Errorf("cache: schedule delayed delete: %w", err)
	}
	c.stats.scheduled.Add(1)
	return nil
}

// DeleteWorker executes the durable delayed deletes of the DoubleDelete
// strategy. Any number of workers (in any processes) may run against the
// same prefix: each due delete is claimed by one worker, and a claim whose
// worker died is retried after WithVisibility. A failed delete is retried
// with exponential backoff; after WithRetry attempts it is reported to
// WithFailureHandler and kept in the failed list.
type DeleteWorker struct {
	rdb redis.UniversalClient
	cfg config

	mu      sync.Mutex
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}

	// del executes one delete; tests replace it to inject failures.
	del func(ctx context.Context, key string) error

	deleted, retried, failed, errs atomic.Int64
}

// WorkerStats is a snapshot of a DeleteWorker's counters.
type WorkerStats struct {
	Deleted int64 // delayed deletes executed and acknowledged
	Retried int64 // deletes that failed and were requeued
	Failed  int64 // deletes given up after the last attempt
	Errors  int64 // claim errors (Redis unreachable, ...)
}

// NewDeleteWorker returns a stopped worker; call Start, and Close to stop.
// It must use the same WithPrefix as the caches whose deletes it runs.
func NewDeleteWorker(rdb redis.UniversalClient, opts ...Option) (*DeleteWorker, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidOption)
	}
	cfg, err := build(opts)
	if err != nil {
		return nil, err
	}
	w := &DeleteWorker{rdb: rdb, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	w.del = func(ctx context.Context, key string) error { return rdb.Del(ctx, key).Err() }
	return w, nil
}

// Start runs the worker in one background goroutine until Close.
func (w *DeleteWorker) Start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.started {
		return errors.New("cache: delete worker already started")
	}
	w.started = true
	go w.loop()
	return nil
}

// Close stops the worker and waits for the batch in progress to finish
// (its deletes are executed and acknowledged, not abandoned).
func (w *DeleteWorker) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	started := w.started
	close(w.stop)
	w.mu.Unlock()
	if started {
		<-w.done
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (w *DeleteWorker) Stats() WorkerStats {
	return WorkerStats{Deleted: w.deleted.Load(), Retried: w.retried.Load(), Failed: w.failed.Load(), Errors: w.errs.Load()}
}

func (w *DeleteWorker) loop() {
	defer close(w.done)
	t := time.NewTicker(w.cfg.pollInterval)
	defer t.Stop()
	for {
		// A full batch means more may be due: go again without waiting.
		n, err := w.ProcessDue(context.Background())
		if err == nil && n >= w.cfg.batch {
			select {
			case <-w.stop:
				return
			default:
				continue
			}
		}
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// ProcessDue claims and executes the deletes due now, once, and returns how
// many it claimed. Start calls it periodically; tests and cron-style callers
// may call it directly.
func (w *DeleteWorker) ProcessDue(ctx context.Context) (int, error) {
	due, inflight, tries, failedKey := w.cfg.ddKeys()
	now := time.Now().UnixMilli()
	res, err := ddClaimScript.Run(ctx, w.rdb, []string{due, inflight, tries},
		now, ms(w.cfg.visibility), w.cfg.batch).Slice()
	if err != nil {
		w.errs.Add(1)
		return 0, fmt.Errorf("cache: claim delayed deletes: %w", err)
	}
	if len(res) < 1 {
		return 0, nil
	}
	deadline, _ := res[0].(string)
	n := 0
	for i := 1; i+1 < len(res); i += 2 {
		key, _ := res[i].(string)
		attempt, _ := res[i+1].(int64)
		n++
		derr := w.del(ctx, key)
		if derr == nil {
			if err := ddAckScript.Run(ctx, w.rdb, []string{inflight, tries}, key, deadline).Err(); err != nil {
				w.errs.Add(1) // the claim will expire and the delete run again: harmless
			}
			w.deleted.Add(1)
			continue
		}
		backoff := w.cfg.retryBackoff << min(attempt-1, 20)
		if backoff > 30*time.Second || backoff <= 0 {
			backoff = 30 * time.Second
		}
		r, err := ddNackScript.Run(ctx, w.rdb, []string{due, inflight, tries, failedKey},
			key, deadline, time.Now().Add(backoff).UnixMilli(), w.cfg.maxAttempts).Int64()
		switch {
		case err != nil:
			w.errs.Add(1)
		case r == 0:
			w.failed.Add(1)
			if w.cfg.onFailure != nil {
				w.cfg.onFailure(key, fmt.Errorf("cache: delayed delete failed after %s attempts: %w", strconv.FormatInt(attempt, 10), derr))
			}
		case r == 1:
			w.retried.Add(1)
		}
	}
	return n, nil
}
