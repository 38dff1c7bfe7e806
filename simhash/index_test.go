package simhash

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/bits-and-blooms/bitset"
	"github.com/surgekit/surge/internal/redistest"
)

// flip returns fp with d distinct random bits flipped.
func flip(rng *rand.Rand, fp Fingerprint, d int) Fingerprint {
	var used bitset.BitSet
	for used.Count() < uint(d) {
		i := uint(rng.IntN(64))
		if !used.Test(i) {
			used.Set(i)
			fp ^= 1 << i
		}
	}
	return fp
}

type entry struct {
	id string
	fp Fingerprint
}

// corpus is n random fingerprints plus, for the first q of them, neighbours at
// every distance 0..6 — so both sides of k are exercised.
func corpus(seed uint64, n, q int) []entry {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []entry
	for i := range n {
		fp := Fingerprint(rng.Uint64() | 1)
		out = append(out, entry{fmt.Sprint("r", i), fp})
		if i < q {
			for d := 0; d <= 6; d++ {
				out = append(out, entry{fmt.Sprintf("n%d-%d", i, d), flip(rng, fp, d)})
			}
		}
	}
	return out
}

func bruteForce(es map[string]Fingerprint, q Fingerprint, k int) []string {
	var out []string
	for id, fp := range es {
		if Distance(q, fp) <= k {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func ids(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	sort.Strings(out)
	return out
}

// testIndex checks an Index against brute force: adds, queries, replacement
// and removal, for k = 0..4.
func testIndex(t *testing.T, mk func(t *testing.T, k int) Index) {
	ctx := context.Background()
	for k := 0; k <= 4; k++ {
		t.Run(fmt.Sprint("k", k), func(t *testing.T) {
			idx := mk(t, k)
			if idx.K() != k {
				t.Fatalf("K() = %d", idx.K())
			}
			live := map[string]Fingerprint{}
			es := corpus(uint64(k), 300, 30)
			for _, e := range es {
				if err := idx.Add(ctx, e.id, e.fp); err != nil {
					t.Fatal(err)
				}
				live[e.id] = e.fp
			}
			check := func(stage string) {
				t.Helper()
				rng := rand.New(rand.NewPCG(9, uint64(k)))
				for i := 0; i < 60; i++ {
					q := es[rng.IntN(len(es))].fp
					if i%3 == 0 {
						q = flip(rng, q, 1+rng.IntN(3))
					}
					ms, err := idx.Query(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range ms {
						if m.Distance != Distance(q, m.Fingerprint) || live[m.ID] != m.Fingerprint {
							t.Fatalf("%s: bad match %+v", stage, m)
						}
					}
					if got, want := ids(ms), bruteForce(live, q, k); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s: query %x: got %v, want %v", stage, q, got, want)
					}
				}
			}
			check("after add")
			// Replace every 5th entry with a new fingerprint, remove every 7th.
			rng := rand.New(rand.NewPCG(3, 3))
			for i, e := range es {
				switch {
				case i%7 == 0:
					ok, err := idx.Remove(ctx, e.id)
					if err != nil || !ok {
						t.Fatalf("Remove(%s) = %v, %v", e.id, ok, err)
					}
					delete(live, e.id)
				case i%5 == 0:
					fp := flip(rng, e.fp, 2)
					if err := idx.Add(ctx, e.id, fp); err != nil {
						t.Fatal(err)
					}
					live[e.id] = fp
				}
			}
			if ok, err := idx.Remove(ctx, es[0].id); ok || err != nil {
				t.Fatalf("second Remove = %v, %v", ok, err)
			}
			check("after replace and remove")
			if ms, err := idx.Query(ctx, Empty); err != nil || len(ms) != 0 {
				t.Fatalf("Empty query: %v %v", ms, err)
			}
			if err := idx.Add(ctx, "e", Empty); !errors.Is(err, ErrEmpty) {
				t.Fatalf("Add(Empty): %v", err)
			}
			if err := idx.Add(ctx, "", 1); !errors.Is(err, ErrInvalidID) {
				t.Fatalf("Add(\"\"): %v", err)
			}
		})
	}
}

func TestMemoryIndex(t *testing.T) {
	testIndex(t, func(t *testing.T, k int) Index {
		m, err := NewMemoryIndex(k)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	if _, err := NewMemoryIndex(8); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
}

func TestRedisIndex(t *testing.T) {
	rdb := redistest.Client(t)
	testIndex(t, func(t *testing.T, k int) Index {
		r, err := NewRedisIndex(rdb, k, WithPrefix(redistest.Prefix(t)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
	for _, bad := range []func() (*RedisIndex, error){
		func() (*RedisIndex, error) { return NewRedisIndex(nil, 3) },
		func() (*RedisIndex, error) { return NewRedisIndex(rdb, -1) },
		func() (*RedisIndex, error) { return NewRedisIndex(rdb, 3, WithPrefix("a{")) },
	} {
		if _, err := bad(); !errors.Is(err, ErrConfig) {
			t.Fatal(err)
		}
	}
}

// TestConcurrentIndex: 1000 goroutines add, query and remove at once on both
// indexes; afterwards each index holds exactly the surviving entries and
// every one is found by its own fingerprint.
func TestConcurrentIndex(t *testing.T) {
	mem, _ := NewMemoryIndex(3)
	red, _ := NewRedisIndex(redistest.Client(t), 3, WithPrefix(redistest.Prefix(t)))
	for _, idx := range []Index{mem, red} {
		ctx := context.Background()
		es := corpus(42, 1000, 0)
		var wg sync.WaitGroup
		for i, e := range es {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := idx.Add(ctx, e.id, e.fp); err != nil {
					t.Error(err)
				}
				if _, err := idx.Query(ctx, e.fp); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					if ok, err := idx.Remove(ctx, e.id); !ok || err != nil {
						t.Errorf("Remove: %v %v", ok, err)
					}
				}
			}()
		}
		wg.Wait()
		for i, e := range es {
			ms, err := idx.Query(ctx, e.fp)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, m := range ms {
				found = found || m.ID == e.id
			}
			if found != (i%2 == 1) {
				t.Fatalf("%T: entry %s found=%v", idx, e.id, found)
			}
		}
	}
	if mem.Len() != 500 {
		t.Fatalf("Len = %d", mem.Len())
	}
}
