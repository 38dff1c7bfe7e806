package ratelimit

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzGCRA drives the shared algorithm with arbitrary limits, steps and request
// sizes and checks its invariants: a refusal stores nothing and names a positive
// wait; the stored TAT never runs more than burst·interval ahead of now; and the
// total allowed never exceeds burst + floor(elapsed/interval).
func FuzzGCRA(f *testing.F) {
	f.Add(int64(1000), 3, []byte{0, 1, 2, 200, 3, 1, 0, 0})
	f.Add(int64(1), 1, []byte{255, 255, 0})
	f.Add(int64(333334), 10, []byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})
	f.Fuzz(func(t *testing.T, ivUS int64, burst int, steps []byte) {
		l := Limit{Interval: time.Duration(ivUS) * time.Microsecond, Burst: burst}
		if l.Validate() != nil {
			return
		}
		iv, tau := l.micros(), l.micros()*int64(burst)
		var tat, now, total int64
		ok := false
		for i := 0; i+1 < len(steps); i += 2 {
			now += int64(steps[i]) * iv / 7
			n := 1 + int64(steps[i+1])%int64(burst)
			d := gcra(tat, ok, now, l, n, false)
			if !d.allowed {
				if d.store || d.retry <= 0 {
					t.Fatalf("refusal %+v", d)
				}
				continue
			}
			if d.remaining < 0 || d.newTAT > now+tau {
				t.Fatalf("allowed %+v at now %d tau %d", d, now, tau)
			}
			tat, ok = d.newTAT, true
			total += n
			if bound := int64(burst) + now/iv; total > bound {
				t.Fatalf("allowed %d > bound %d at %d", total, bound, now)
			}
		}
	})
}

// FuzzLocalAllowN: arbitrary keys and sizes never panic and yield either a
// decision or one of the typed input errors.
func FuzzLocalAllowN(f *testing.F) {
	f.Add("user:1", 1)
	f.Add("", 1)
	f.Add("k", 0)
	f.Add("k", -5)
	f.Add(strings.Repeat("x", 2000), 1)
	f.Add("\x00\xff{tag}", 4)
	lo, _ := NewLocal(PerSecond(3), WithMaxKeys(64))
	f.Fuzz(func(t *testing.T, key string, n int) {
		r, err := lo.AllowN(bg, key, n)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrInvalidN) && !errors.Is(err, ErrExceedsBurst) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if r.Remaining < 0 || r.Remaining > 3 || (!r.Allowed && r.RetryAfter <= 0) {
			t.Fatalf("result %+v", r)
		}
	})
}

// FuzzForwardedFor: whatever the header holds, the key is the remote address or
// an IP that appears in the header.
func FuzzForwardedFor(f *testing.F) {
	f.Add("1.2.3.4, 10.0.0.1", 1)
	f.Add("", 2)
	f.Add(",,,", 3)
	f.Add("::1,2001:db8::1", 1)
	f.Add("1.2.3.4", -1)
	f.Fuzz(func(t *testing.T, header string, trusted int) {
		k := forwardedFor([]string{header}, trusted, "remote")
		if k != "remote" && (net.ParseIP(k) == nil || !strings.Contains(header, k)) {
			t.Fatalf("key %q from %q", k, header)
		}
	})
}

// FuzzLimit: any numbers give either ErrInvalidLimit or a limit that is exact in
// Lua (interval × burst ≤ 2^50 µs) and never faster than requested.
func FuzzLimit(f *testing.F) {
	f.Add(10, int64(time.Second), 10)
	f.Add(3, int64(time.Second), 0)
	f.Add(-1, int64(-5), 1)
	f.Add(1<<62, int64(1), 1)
	f.Add(1, int64(1<<62), 1<<40)
	f.Fuzz(func(t *testing.T, n int, d int64, burst int) {
		for _, l := range []Limit{Per(n, time.Duration(d)), Every(time.Duration(d)), Per(n, time.Duration(d)).WithBurst(burst)} {
			err := l.Validate()
			if err != nil {
				if !errors.Is(err, ErrInvalidLimit) {
					t.Fatalf("untyped %v", err)
				}
				continue
			}
			if l.micros() < 1 || l.micros() > maxTauMicros/int64(l.Burst) {
				t.Fatalf("valid limit %v out of range", l)
			}
		}
		if l := Per(n, time.Duration(d)).WithBurst(max(burst, 1)); l.Validate() == nil {
			for _, inst := range []int{1, 2, 3, 1000, 1 << 40} {
				sc := l.scaled(inst)
				if sc.Validate() != nil || sc.Interval < l.Interval && inst > 1 {
					t.Fatalf("%v scaled by %d = %v", l, inst, sc)
				}
			}
		}
		if l := Per(n, time.Duration(d)); l.Validate() == nil && l.Interval*time.Duration(n) < time.Duration(d) {
			t.Fatalf("Per(%d, %v) = %v is faster than asked", n, time.Duration(d), l)
		}
	})
}
