package shorturl

import (
	"errors"
	"math"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	cases := []struct {
		n uint64
		s string
	}{
		{0, "0"}, {9, "9"}, {10, "A"}, {61, "z"}, {62, "10"}, {3843, "zz"},
		{math.MaxUint64, "LygHa16AHYF"},
	}
	for _, c := range cases {
		if got := Encode(c.n); got != c.s {
			t.Errorf("Encode(%d) = %q, want %q", c.n, got, c.s)
		}
		if got, err := Decode(c.s); err != nil || got != c.n {
			t.Errorf("Decode(%q) = %d, %v; want %d", c.s, got, err, c.n)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		s    string
		want error
	}{
		{"", ErrEmptyCode},
		{"ab-c", ErrBadChar},
		{"é", ErrBadChar},
		{"0a", ErrNonCanonical},
		{"0-", ErrBadChar},
		{"LygHa16AHYG", ErrOverflow}, // MaxUint64 + 1
		{"zzzzzzzzzzz", ErrOverflow},
		{"100000000000", ErrOverflow}, // 12 digits
	}
	for _, c := range cases {
		_, err := Decode(c.s)
		if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalidCode) {
			t.Errorf("Decode(%q) error = %v, want %v", c.s, err, c.want)
		}
	}
}

func TestFixedWidth(t *testing.T) {
	s, err := EncodeFixed(61, 3)
	if err != nil || s != "00z" {
		t.Fatalf("EncodeFixed(61,3) = %q, %v", s, err)
	}
	if n, err := DecodeFixed("00z", 3); err != nil || n != 61 {
		t.Fatalf("DecodeFixed = %d, %v", n, err)
	}
	if _, err := EncodeFixed(62*62*62, 3); !errors.Is(err, ErrWidth) {
		t.Fatalf("EncodeFixed overflow: %v", err)
	}
	for _, w := range []int{0, 12, -1} {
		if _, err := EncodeFixed(1, w); !errors.Is(err, ErrWidth) {
			t.Fatalf("EncodeFixed width %d: %v", w, err)
		}
	}
	if _, err := DecodeFixed("0z", 3); !errors.Is(err, ErrWidth) {
		t.Fatalf("DecodeFixed short: %v", err)
	}
	if _, err := DecodeFixed("", 3); !errors.Is(err, ErrEmptyCode) {
		t.Fatalf("DecodeFixed empty: %v", err)
	}
}

func FuzzBase62RoundTrip(f *testing.F) {
	for _, n := range []uint64{0, 1, 61, 62, 1 << 40, math.MaxUint64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n uint64) {
		s := Encode(n)
		got, err := Decode(s)
		if err != nil || got != n {
			t.Fatalf("Decode(Encode(%d)=%q) = %d, %v", n, s, got, err)
		}
		if string(AppendEncode([]byte("x"), n)) != "x"+s {
			t.Fatalf("AppendEncode differs from Encode")
		}
		fx, err := EncodeFixed(n, MaxCodeLen)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodeFixed(fx, MaxCodeLen); err != nil || got != n {
			t.Fatalf("fixed round trip of %d via %q: %d, %v", n, fx, got, err)
		}
	})
}

// FuzzDecode: Decode never panics, fails only with typed errors, and what it
// accepts is canonical (Encode gives the same string back).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "0", "00", "zz", "LygHa16AHYF", "LygHa16AHYG", "a b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if Encode(n) != s {
			t.Fatalf("Decode(%q) = %d, but Encode gives %q", s, n, Encode(n))
		}
	})
}
