package stock

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Event is one applied op read from a group's outbox.
type Event struct {
	StreamID string // id of the stream entry (one entry may hold several ops of a batch)
	Group    string
	Op       string
	// State is the op's state after this event (StateStockIn, StateDeducted,
	// StateReserved, StateConfirmed, StateReleased, StateReverted, or StateMovedOut
	// for units a hot-SKU rebalance took out of a bucket).
	State State
	// Undone is, for StateReverted, the state that was reverted.
	Undone State
	User   string
	Time   time.Time
	Items  []Item
}

// ConsumerConfig configures Consume.
type ConsumerConfig struct {
	Group         string        // the stock group whose outbox is read (required)
	ConsumerGroup string        // Redis consumer group (default "surge-stock")
	Consumer      string        // this consumer's name, unique per process (required)
	Batch         int           // entries per read (default 100)
	Block         time.Duration // how long one read waits for new entries (default 1s)
	// MinIdle: entries delivered to a consumer but not acknowledged for this long are
	// claimed and delivered again (a consumer crashed, or its callback failed).
	// Default 30s.
	MinIdle time.Duration
}

// Consume delivers the outbox events of cfg.Group to fn, at least once, until ctx is
// done (then it returns ctx.Err()). An entry is acknowledged only when fn returned nil
// for every op in it; otherwise it stays pending and is delivered again after MinIdle,
// to this or another consumer (XAUTOCLAIM). fn must therefore be idempotent by op id
// (e.g. an INSERT keyed by Event.Op). Transient Redis errors are retried with backoff.
// Consume starts no goroutine: run it in one of yours.
func (s *Stock) Consume(ctx context.Context, cfg ConsumerConfig, fn func(context.Context, Event) error) error {
	if err := validName("group", cfg.Group, false); err != nil {
		return err
	}
	if err := validName("consumer", cfg.Consumer, false); err != nil {
		return err
	}
	if cfg.ConsumerGroup == "" {
		cfg.ConsumerGroup = "surge-stock"
	}
	if err := validName("consumer group", cfg.ConsumerGroup, false); err != nil {
		return err
	}
	if fn == nil || ctx == nil {
		return errorf("nil callback or context")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.MinIdle <= 0 {
		cfg.MinIdle = 30 * time.Second
	}
	stream := s.outboxKey(cfg.Group)
	backoff := 10 * time.Millisecond
	created := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := func() error {
			if !created {
				err := s.rdb.XGroupCreateMkStream(ctx, stream, cfg.ConsumerGroup, "0").Err()
				if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
					return err
				}
				created = true
			}
			// Reclaim what a crashed consumer (or a failed callback) left pending.
			claimed, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: stream, Group: cfg.ConsumerGroup, Consumer: cfg.Consumer,
				MinIdle: cfg.MinIdle, Start: "0-0", Count: int64(cfg.Batch),
			}).Result()
			if err != nil {
				return err
			}
			if err := s.deliver(ctx, cfg, stream, claimed, fn); err != nil {
				return err
			}
			streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: cfg.ConsumerGroup, Consumer: cfg.Consumer, Streams: []string{stream, ">"},
				Count: int64(cfg.Batch), Block: cfg.Block,
			}).Result()
			if errors.Is(err, redis.Nil) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, st := range streams {
				if err := s.deliver(ctx, cfg, stream, st.Messages, fn); err != nil {
					return err
				}
			}
			return nil
		}()
		if err == nil {
			backoff = 10 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.Contains(err.Error(), "NOGROUP") {
			created = false // the stream was deleted and recreated
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

// deliver hands every op of each message to fn and acknowledges the messages whose
// ops all succeeded. Callback errors are not returned: the message stays pending.
func (s *Stock) deliver(ctx context.Context, cfg ConsumerConfig, stream string, msgs []redis.XMessage,
	fn func(context.Context, Event) error) error {
	var ack []string
	for _, m := range msgs {
		evs, err := eventsOf(cfg.Group, m)
		ok := err == nil
		for _, ev := range evs {
			if !ok {
				break
			}
			ok = fn(ctx, ev) == nil
		}
		if ok {
			ack = append(ack, m.ID)
		}
	}
	if len(ack) == 0 {
		return nil
	}
	return s.rdb.XAck(ctx, stream, cfg.ConsumerGroup, ack...).Err()
}

// eventsOf decodes one outbox entry, ops in name order (deterministic redelivery).
func eventsOf(group string, m redis.XMessage) ([]Event, error) {
	ops := make([]string, 0, len(m.Values))
	for op := range m.Values {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	evs := make([]Event, 0, len(ops))
	for _, op := range ops {
		e, err := parseEntry(fmt.Sprint(m.Values[op]))
		if err != nil {
			return nil, err
		}
		ev := Event{StreamID: m.ID, Group: group, Op: op, State: State(e.kind[0]),
			User: e.user, Time: e.time, Items: e.items}
		if len(e.kind) > 1 {
			ev.Undone = State(e.kind[1])
		}
		evs = append(evs, ev)
	}
	return evs, nil
}
