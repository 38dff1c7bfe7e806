package shorturl

import (
	"errors"
	"testing"

	"github.com/bits-and-blooms/bitset"
)

// TestPermutationBijective checks every point of small domains: each image is
// inside the domain, hit exactly once, and inverts back.
func TestPermutationBijective(t *testing.T) {
	for _, width := range []int{1, 2, 3} {
		p, err := NewPermutation([]byte("secret"), width)
		if err != nil {
			t.Fatal(err)
		}
		seen := bitset.New(uint(p.Domain()))
		for x := uint64(0); x < p.Domain(); x++ {
			y, err := p.Permute(x)
			if err != nil {
				t.Fatal(err)
			}
			if y >= p.Domain() || seen.Test(uint(y)) {
				t.Fatalf("width %d: image %d of %d out of domain or hit twice", width, y, x)
			}
			seen.Set(uint(y))
			if back, _ := p.Invert(y); back != x {
				t.Fatalf("width %d: Invert(Permute(%d)) = %d", width, x, back)
			}
		}
		if seen.Count() != uint(p.Domain()) {
			t.Fatalf("width %d: %d images for %d points", width, seen.Count(), p.Domain())
		}
	}
}

// TestPermutationHidesOrder: consecutive IDs must not give consecutive codes,
// and another key gives other codes.
func TestPermutationHidesOrder(t *testing.T) {
	p1, _ := NewPermutation([]byte("k1"), 6)
	p2, _ := NewPermutation([]byte("k2"), 6)
	adjacent, same := 0, 0
	prev, _ := p1.Permute(1000)
	for x := uint64(1001); x < 11000; x++ {
		y, _ := p1.Permute(x)
		if y == prev+1 {
			adjacent++
		}
		if z, _ := p2.Permute(x); z == y {
			same++
		}
		prev = y
	}
	if adjacent > 2 || same > 2 {
		t.Fatalf("permutation leaks order: %d adjacent, %d equal across keys", adjacent, same)
	}
}

func TestPermutationErrors(t *testing.T) {
	if _, err := NewPermutation(nil, 6); !errors.Is(err, ErrBadKey) {
		t.Fatal(err)
	}
	for _, w := range []int{0, 11} {
		if _, err := NewPermutation([]byte("k"), w); !errors.Is(err, ErrBadKey) {
			t.Fatalf("width %d: %v", w, err)
		}
	}
	p, _ := NewPermutation([]byte("k"), 2)
	if _, err := p.Permute(3844); !errors.Is(err, ErrOutOfDomain) {
		t.Fatal(err)
	}
	if _, err := p.Invert(3844); !errors.Is(err, ErrOutOfDomain) {
		t.Fatal(err)
	}
}

// FuzzPermutation: for any key and width, Permute stays in the domain, Invert
// undoes it, and two distinct inputs never share an image.
func FuzzPermutation(f *testing.F) {
	f.Add([]byte("secret"), uint64(0), uint64(1), uint8(6))
	f.Add([]byte("k"), uint64(61), uint64(60), uint8(1))
	f.Add([]byte("a long key of more than eight bytes"), uint64(1<<50), uint64(7), uint8(10))
	f.Fuzz(func(t *testing.T, key []byte, a, b uint64, w uint8) {
		p, err := NewPermutation(key, int(w%10)+1)
		if len(key) == 0 {
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("empty key accepted: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		a, b = a%p.Domain(), b%p.Domain()
		ya, err1 := p.Permute(a)
		yb, err2 := p.Permute(b)
		if err1 != nil || err2 != nil || ya >= p.Domain() || yb >= p.Domain() {
			t.Fatalf("out of domain: %d %d %v %v", ya, yb, err1, err2)
		}
		if (a == b) != (ya == yb) {
			t.Fatalf("not injective: P(%d)=%d P(%d)=%d", a, ya, b, yb)
		}
		if back, err := p.Invert(ya); err != nil || back != a {
			t.Fatalf("Invert(Permute(%d)) = %d, %v", a, back, err)
		}
	})
}
