package cache

import (
	"strings"
	"testing"
	"time"
)

// Any bytes found in Redis decode to a value, the placeholder, or
// ErrCorrupt — never a panic, and a framed payload round-trips.
func FuzzUnframe(f *testing.F) {
	f.Add("")
	f.Add(notFoundFrame)
	f.Add("\x01{}")
	f.Add("\x00surge:not-found\x00")
	f.Add(`{"id":1}`)
	f.Fuzz(func(t *testing.T, stored string) {
		payload, nf, err := unframe(stored)
		if nf && stored != notFoundFrame {
			t.Fatalf("%q read as the placeholder", stored)
		}
		if err == nil && !nf && string(frame([]byte(payload))) != stored {
			t.Fatalf("round trip of %q", stored)
		}
		// Whatever the codec emits, a framed value is never the placeholder.
		if string(frame([]byte(stored))) == notFoundFrame {
			t.Fatal("frame collided with the placeholder")
		}
	})
}

// Keys: every accepted key yields entry keys in one hash tag.
func FuzzEntryKeys(f *testing.F) {
	f.Add("sku:1")
	f.Add("{x}")
	f.Add("")
	f.Add("a}b{")
	cfg := defaults()
	f.Fuzz(func(t *testing.T, key string) {
		if validateKey(key) != nil {
			return
		}
		ek := cfg.entry(key)
		for _, k := range []string{ek.value, ek.lease, ek.fence} {
			i := strings.IndexByte(k, '{')
			j := strings.IndexByte(k[i+1:], '}')
			if i < 0 || j < 0 || k[i+1:i+1+j] != key {
				t.Fatalf("%q: hash tag of %q is not the key", key, k)
			}
		}
	})
}

func FuzzJitter(f *testing.F) {
	f.Add(int64(1), 0.9)
	f.Add(int64(time.Minute), 0.1)
	f.Fuzz(func(t *testing.T, base int64, frac float64) {
		if base < int64(time.Millisecond) || !(frac >= 0 && frac <= 0.9) || base > int64(1000*time.Hour) {
			return
		}
		d := jitter(time.Duration(base), frac)
		lo := time.Duration(float64(base)*(1-frac)) - 1
		hi := time.Duration(float64(base)*(1+frac)) + 1
		if d < time.Millisecond || d < lo || d > hi {
			t.Fatalf("jitter(%v, %v) = %v outside [%v, %v]", time.Duration(base), frac, d, lo, hi)
		}
	})
}
