package cache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
)

// Any key is either served or refused with ErrInvalidKey before any I/O;
// nothing panics.
func FuzzGetKey(f *testing.F) {
	f.Add("sku:1")
	f.Add("")
	f.Add("a{b}")
	f.Add("\x00\xff")
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	c, err := cache.New[string](rdb)
	if err != nil {
		f.Fatal(err)
	}
	load := func(context.Context, string) (string, error) { return "", nil }
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // any I/O fails at once with context.Canceled
	f.Fuzz(func(t *testing.T, key string) {
		_, err := c.Get(ctx, key, load)
		if err == nil {
			t.Fatal("no error from an unreachable server")
		}
		if errors.Is(err, cache.ErrInvalidKey) == (key != "" && len(key) <= cache.MaxKeyLen && !containsBrace(key)) {
			t.Fatalf("key %q: %v", key, err)
		}
	})
}

func containsBrace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '{' || s[i] == '}' {
			return true
		}
	}
	return false
}

func FuzzBloomSize(f *testing.F) {
	f.Add(uint64(1000), 0.01)
	f.Add(uint64(0), 0.5)
	f.Add(uint64(1), 1e-300)
	f.Fuzz(func(t *testing.T, n uint64, p float64) {
		m, k, err := cache.BloomSize(n, p)
		if err != nil {
			if !errors.Is(err, cache.ErrInvalidOption) {
				t.Fatal(err)
			}
			return
		}
		if m == 0 || k == 0 {
			t.Fatalf("BloomSize(%d, %v) = %d, %d", n, p, m, k)
		}
		if k > 64 {
			return // valid sizing, but NewLocalBloom would refuse k > 64
		}
		if m <= 1<<20 {
			if _, err := cache.NewLocalBloom(max(m, 8), k); err != nil {
				t.Fatal(err)
			}
		}
	})
}
