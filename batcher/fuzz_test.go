package batcher

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

type fitem struct {
	seq, size   int
	viaProducer bool // producer-buffered items keep order among themselves only
}

// FuzzBatcher drives a batcher with arbitrary limits and an arbitrary sequence of
// Add / TryAdd / Submit / Producer.Add / Flush calls and item sizes, then checks that New refused
// exactly the invalid limits, and that every accepted item was delivered exactly
// once, in per-key order, in batches within the item and byte limits.
func FuzzBatcher(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0x81, 4, 5}, 2, 10, uint8(1), false)
	f.Add([]byte{60, 60, 1, 1, 1, 0xc0, 0x40, 0x7f}, 3, 40, uint8(3), true)
	f.Add([]byte{}, 0, 0, uint8(0), false)
	f.Add([]byte{0, 0, 0, 0x80, 0x80}, 1, -5, uint8(200), true)
	f.Fuzz(func(t *testing.T, ops []byte, maxItems, maxBytes int, shards uint8, keyed bool) {
		if len(ops) > 500 {
			ops = ops[:500]
		}
		var mu sync.Mutex
		var got []fitem
		var bad string
		opts := []Option{WithMaxItems(maxItems), WithMaxWait(time.Millisecond), WithQueueSize(8),
			WithSize(func(it fitem) int { return it.size })}
		if maxBytes != 0 {
			opts = append(opts, WithMaxBytes(maxBytes))
		}
		if shards != 0 {
			opts = append(opts, WithShards(int(shards)))
		}
		if keyed {
			opts = append(opts, WithKey(func(it fitem) string { return strconv.Itoa(it.size % 3) }))
		}
		b, err := New(func(_ context.Context, items []fitem) error {
			mu.Lock()
			defer mu.Unlock()
			bytes := 0
			for _, it := range items {
				bytes += it.size
			}
			if len(items) == 0 || len(items) > maxItems || (maxBytes > 0 && bytes > maxBytes && len(items) > 1) {
				bad = "batch out of limits"
			}
			got = append(got, items...)
			return nil
		}, opts...)
		valid := maxItems >= 1 && maxBytes >= 0 // any uint8 shard count but 0 (not passed) is valid
		if err != nil {
			if !errors.Is(err, ErrInvalid) || valid {
				t.Fatalf("New(maxItems=%d maxBytes=%d shards=%d): %v", maxItems, maxBytes, shards, err)
			}
			return
		}
		if !valid {
			t.Fatalf("New accepted maxItems=%d maxBytes=%d", maxItems, maxBytes)
		}
		ctx := context.Background()
		var accepted []fitem
		var futures []Future
		var prod *Producer[fitem]
		for i, op := range ops {
			it := fitem{seq: i, size: int(op & 0x3f)}
			switch {
			case op&0xc0 == 0xc0:
				if err := b.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			case op&0x80 != 0:
				f, err := b.Submit(ctx, it)
				if err != nil {
					t.Fatal(err)
				}
				futures = append(futures, f)
			case op&0x60 == 0x60:
				if prod == nil {
					if prod, err = b.NewProducer(int(op&0x7) + 1); err != nil {
						t.Fatal(err)
					}
				}
				it.viaProducer = true
				if err := prod.Add(ctx, it); err != nil {
					t.Fatal(err)
				}
			case op&0x40 != 0:
				if err := b.TryAdd(it); errors.Is(err, ErrFull) {
					continue
				} else if err != nil {
					t.Fatal(err)
				}
			default:
				if err := b.Add(ctx, it); err != nil {
					t.Fatal(err)
				}
			}
			accepted = append(accepted, it)
		}
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		for _, f := range futures {
			if err := f.Err(); err != nil {
				t.Fatal(err)
			}
			<-f.Done()
		}
		if bad != "" {
			t.Fatal(bad)
		}
		if len(got) != len(accepted) {
			t.Fatalf("delivered %d, accepted %d", len(got), len(accepted))
		}
		seen := map[int]bool{}
		lastByKey := map[int]int{}
		orderKey := func(it fitem) int {
			k := 0
			switch {
			case keyed:
				k = it.size % 3
			case shards > 1:
				return -1 - it.seq // unkeyed with several shards: no order promise
			}
			if it.viaProducer {
				k += 100
			}
			return k
		}
		for _, it := range got {
			if seen[it.seq] {
				t.Fatalf("item %d delivered twice", it.seq)
			}
			seen[it.seq] = true
			k := orderKey(it)
			if l, ok := lastByKey[k]; ok && it.seq < l {
				t.Fatalf("key %d: item %d after %d", k, it.seq, l)
			}
			lastByKey[k] = it.seq
		}
		if st := b.Stats(); st.Delivered != uint64(len(accepted)) || st.QueueDepth != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}
