package main

// TEMPORARY: the surge stock package (issue 4) was not committed when this example was
// started. luaInventory is a minimal stand-in with the same shape (journal checked first,
// reserve → confirm | release, an atomic outbox stream written inside each script) so the
// service is runnable now; it is replaced by stock.* as soon as that package lands.

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed create.lua
	createLua string
	//go:embed restock.lua
	restockLua string
	//go:embed reserve.lua
	reserveLua string
	//go:embed settle.lua
	settleLua string

	createScript  = redis.NewScript(createLua)
	restockScript = redis.NewScript(restockLua)
	reserveScript = redis.NewScript(reserveLua)
	settleScript  = redis.NewScript(settleLua)
)

// luaInventory keeps one sale's keys under one hash tag, so every script is
// single-slot on Redis Cluster:
//
//	<prefix>{<sale>}:c   hash   total, available, reserved, sold, limit
//	<prefix>{<sale>}:j   hash   op -> "state|user|qty", "restock:<op>" -> qty
//	<prefix>{<sale>}:u   hash   user -> units held (per-user limit)
//	<prefix>{<sale>}:o   stream outbox of applied reserve/confirm/release
type luaInventory struct {
	rdb    redis.UniversalClient
	prefix string
	group  string

	reserves, dups, soldOut, overLimit, confirms, releases, outboxRead atomic.Int64
}

func newLuaInventory(rdb redis.UniversalClient, prefix string) *luaInventory {
	return &luaInventory{rdb: rdb, prefix: prefix, group: "seckill-db"}
}

func (l *luaInventory) keys(sale string) []string {
	t := l.prefix + "{" + sale + "}:"
	return []string{t + "c", t + "j", t + "u", t + "o"}
}

func nowMs() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

func (l *luaInventory) Create(ctx context.Context, sale string, qty, perUser int64) error {
	return createScript.Run(ctx, l.rdb, l.keys(sale)[:1], qty, perUser).Err()
}

func (l *luaInventory) Restock(ctx context.Context, sale, op string, qty int64) error {
	n, err := restockScript.Run(ctx, l.rdb, l.keys(sale)[:2], op, qty).Int()
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("restock %s: %w", sale, ErrUnknownSale)
	}
	return nil
}

func (l *luaInventory) Reserve(ctx context.Context, sale, op, user string) (Reservation, error) {
	res, err := reserveScript.Run(ctx, l.rdb, l.keys(sale), op, user, 1, nowMs()).StringSlice()
	if err != nil {
		return Reservation{}, err
	}
	if len(res) != 2 {
		return Reservation{}, fmt.Errorf("reserve: unexpected reply %q", res)
	}
	switch res[0] {
	case "ok":
		l.reserves.Add(1)
		return Reservation{Outcome: Reserved, State: "reserved"}, nil
	case "dup":
		l.dups.Add(1)
		st, _, _ := strings.Cut(res[1], "|")
		return Reservation{Outcome: Reserved, Duplicate: true, State: st}, nil
	case "soldout":
		l.soldOut.Add(1)
		return Reservation{Outcome: SoldOut}, nil
	case "limit":
		l.overLimit.Add(1)
		return Reservation{Outcome: OverLimit}, nil
	case "nosale":
		return Reservation{Outcome: NoSale}, nil
	}
	return Reservation{}, fmt.Errorf("reserve: unexpected reply %q", res)
}

func (l *luaInventory) settle(ctx context.Context, sale, op, target string) (string, error) {
	return settleScript.Run(ctx, l.rdb, l.keys(sale), op, target, nowMs()).Text()
}

func (l *luaInventory) Confirm(ctx context.Context, sale, op string) error {
	r, err := l.settle(ctx, sale, op, "paid")
	if err != nil {
		return err
	}
	switch r {
	case "ok":
		l.confirms.Add(1)
		return nil
	case "paid":
		return nil
	case "released":
		return ErrReleased
	}
	return ErrUnknownOrder
}

func (l *luaInventory) Release(ctx context.Context, sale, op string) error {
	r, err := l.settle(ctx, sale, op, "released")
	if err != nil {
		return err
	}
	switch r {
	case "ok":
		l.releases.Add(1)
		return nil
	case "released":
		return nil
	case "paid":
		return ErrPaid
	}
	return ErrUnknownOrder
}

func (l *luaInventory) Counts(ctx context.Context, sale string) (Counts, error) {
	v, err := l.rdb.HMGet(ctx, l.keys(sale)[0], "available", "reserved", "sold").Result()
	if err != nil {
		return Counts{}, err
	}
	if v[0] == nil {
		return Counts{}, ErrUnknownSale
	}
	var n [3]int64
	for i := range v {
		s, _ := v[i].(string)
		n[i], _ = strconv.ParseInt(s, 10, 64)
	}
	return Counts{Available: n[0], Reserved: n[1], Sold: n[2]}, nil
}

func (l *luaInventory) State(ctx context.Context, sale, op string) (string, string, error) {
	v, err := l.rdb.HGet(ctx, l.keys(sale)[1], op).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	parts := strings.Split(v, "|")
	if len(parts) < 2 {
		return "", "", fmt.Errorf("journal entry %q", v)
	}
	return parts[0], strings.Join(parts[1:len(parts)-1], "|"), nil
}

func (l *luaInventory) Stats() map[string]int64 {
	return map[string]int64{
		"reserved":    l.reserves.Load(),
		"duplicate":   l.dups.Load(),
		"sold_out":    l.soldOut.Load(),
		"over_limit":  l.overLimit.Load(),
		"confirmed":   l.confirms.Load(),
		"released":    l.releases.Load(),
		"outbox_read": l.outboxRead.Load(),
	}
}

func (l *luaInventory) Outbox() Outbox { return l }

// Run consumes the sale's outbox with a consumer group: first this consumer's own
// pending entries (a crash between handle and XACK redelivers them), then new ones.
// Entries are acknowledged only after handle returned nil. When ctx is cancelled it
// drains what is already in the stream, then returns.
func (l *luaInventory) Run(ctx context.Context, sale string, handle func(context.Context, []Event) error) error {
	stream := l.keys(sale)[3]
	bg := context.WithoutCancel(ctx)
	err := l.rdb.XGroupCreateMkStream(bg, stream, l.group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return err
	}
	host, _ := os.Hostname()
	consumer := fmt.Sprintf("%s-%d", host, os.Getpid())
	start := "0" // own pending entries first
	draining := false
	for {
		if ctx.Err() != nil && !draining {
			draining = true
			start = "0"
		}
		block := 200 * time.Millisecond
		if draining {
			block = -1 // no BLOCK argument
		}
		rctx, cancel := context.WithTimeout(bg, 5*time.Second)
		res, err := l.rdb.XReadGroup(rctx, &redis.XReadGroupArgs{
			Group: l.group, Consumer: consumer, Streams: []string{stream, start},
			Count: 512, Block: block,
		}).Result()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			if draining {
				return err
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		var msgs []redis.XMessage
		if len(res) > 0 {
			msgs = res[0].Messages
		}
		if len(msgs) == 0 {
			if start == "0" {
				start = ">"
				continue
			}
			if draining {
				return nil
			}
			continue
		}
		evs := make([]Event, 0, len(msgs))
		ids := make([]string, 0, len(msgs))
		for _, m := range msgs {
			ids = append(ids, m.ID)
			ev, ok := parseEvent(sale, m.Values)
			if ok {
				evs = append(evs, ev)
			}
		}
		hctx, cancel := context.WithTimeout(bg, 30*time.Second)
		err = handle(hctx, evs)
		if err == nil {
			err = l.rdb.XAck(hctx, stream, l.group, ids...).Err()
		}
		cancel()
		if err != nil {
			// Not acknowledged: re-read from our pending list after a pause.
			start = "0"
			if draining {
				return err
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		l.outboxRead.Add(int64(len(msgs)))
	}
}

func parseEvent(sale string, v map[string]any) (Event, bool) {
	s := func(k string) string { x, _ := v[k].(string); return x }
	ev := Event{Type: s("t"), Sale: sale, Op: s("op"), User: s("u")}
	ev.Qty, _ = strconv.ParseInt(s("q"), 10, 64)
	ms, _ := strconv.ParseInt(s("ts"), 10, 64)
	ev.At = time.UnixMilli(ms)
	return ev, ev.Op != "" && ev.Type != ""
}
