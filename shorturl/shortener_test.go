package shorturl

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

func newShortener(t *testing.T, rdb redis.UniversalClient, opts ...Option) *Shortener {
	t.Helper()
	s, err := New(rdb, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestShortenResolve(t *testing.T) {
	s := newShortener(t, redistest.Client(t))
	ctx := context.Background()
	l, err := s.Shorten(ctx, "https://example.com/a?b=c#d")
	if err != nil {
		t.Fatal(err)
	}
	if l.Code != "1" || !l.ExpiresAt.IsZero() {
		t.Fatalf("first code of a fresh counter: %+v", l)
	}
	got, err := s.Resolve(ctx, l.Code)
	if err != nil || got.URL != "https://example.com/a?b=c#d" {
		t.Fatalf("Resolve = %+v, %v", got, err)
	}
	for _, code := range []string{"zzzz", "", "bad/code", strings.Repeat("a", 65)} {
		if _, err := s.Resolve(ctx, code); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Resolve(%q): %v", code, err)
		}
	}
}

// TestShortenManyGoroutines: 2000 goroutines on two Shorteners (two
// allocators) sharing one Redis; every code is distinct and resolves to the URL
// that was stored under it.
func TestShortenManyGoroutines(t *testing.T) {
	rdb := redistest.Client(t)
	p, _ := NewPermutation([]byte("k"), 6)
	ss := []*Shortener{
		newShortener(t, rdb, WithPermutation(p), WithSegmentSize(10, 100, time.Second)),
		newShortener(t, rdb, WithPermutation(p), WithSegmentSize(10, 100, time.Second)),
	}
	ctx := context.Background()
	const workers, per = 2000, 3
	codes := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				l, err := ss[w%2].Shorten(ctx, "https://example.com/"+string(rune('a'+w%26))+"/"+strings.Repeat("x", i))
				if err != nil {
					t.Error(err)
					return
				}
				codes[w] = append(codes[w], l.Code)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for w, cs := range codes {
		for i, c := range cs {
			if len(c) != 6 || seen[c] {
				t.Fatalf("code %q: wrong width or duplicate", c)
			}
			seen[c] = true
			if i == 0 && w%100 == 0 {
				l, err := ss[0].Resolve(ctx, c)
				if err != nil || l.URL != "https://example.com/"+string(rune('a'+w%26))+"/" {
					t.Fatalf("Resolve(%q) = %+v, %v", c, l, err)
				}
			}
		}
	}
	if len(seen) != workers*per {
		t.Fatalf("%d codes, want %d", len(seen), workers*per)
	}
}

func TestExpiryAndTombstone(t *testing.T) {
	m, rdb := redistest.Mini(t) // FastForward moves miniredis TTLs
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newShortener(t, rdb, WithClock(clk.now), WithTombstone(time.Hour))
	ctx := context.Background()
	l, err := s.Shorten(ctx, "https://example.com/", TTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !l.ExpiresAt.Equal(clk.now().Add(time.Minute)) {
		t.Fatalf("ExpiresAt = %v", l.ExpiresAt)
	}
	if _, err := s.Resolve(ctx, l.Code); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	m.FastForward(time.Minute)
	if _, err := s.Resolve(ctx, l.Code); !errors.Is(err, ErrExpired) {
		t.Fatalf("after expiry: %v", err)
	}
	clk.add(time.Hour)
	m.FastForward(time.Hour)
	if _, err := s.Resolve(ctx, l.Code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the tombstone: %v", err)
	}
	if st := s.Stats(); st.Expired != 1 || st.NotFound != 1 || st.Resolved != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestKeyTTLOnTier checks, on the tier in force, that an expiring link's key
// carries the TTL (expiry + tombstone) and a permanent one has none.
func TestKeyTTLOnTier(t *testing.T) {
	rdb := redistest.Client(t)
	s := newShortener(t, rdb, WithTombstone(time.Hour))
	ctx := context.Background()
	l, _ := s.Shorten(ctx, "https://example.com/", TTL(time.Minute))
	if ttl := rdb.PTTL(ctx, s.linkKey(l.Code)).Val(); ttl < 60*time.Minute || ttl > 61*time.Minute {
		t.Fatalf("key TTL %v, want ~61m", ttl)
	}
	p, _ := s.Shorten(ctx, "https://example.com/")
	if ttl := rdb.PTTL(ctx, s.linkKey(p.Code)).Val(); ttl >= 0 {
		t.Fatalf("permanent link has TTL %v", ttl)
	}
}

func TestClaimAlias(t *testing.T) {
	s := newShortener(t, redistest.Client(t))
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, taken := 0, 0
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Claim(ctx, "sale-2026", "https://shop.example/"+strings.Repeat("x", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrAliasTaken):
				taken++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || taken != 199 {
		t.Fatalf("won %d taken %d", won, taken)
	}
	for _, bad := range []string{"", "a b", "a/b", strings.Repeat("x", 65), "é"} {
		if _, err := s.Claim(ctx, bad, "https://x.example/"); !errors.Is(err, ErrInvalidAlias) {
			t.Fatalf("alias %q: %v", bad, err)
		}
	}
}

// TestAliasSquatsGeneratedCode: aliases that equal future generated codes are
// skipped by Shorten, never overwritten.
func TestAliasSquatsGeneratedCode(t *testing.T) {
	s := newShortener(t, redistest.Client(t))
	ctx := context.Background()
	for _, a := range []string{"1", "2", "4"} {
		if _, err := s.Claim(ctx, a, "https://alias.example/"+a); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	for range 3 {
		l, err := s.Shorten(ctx, "https://gen.example/")
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, l.Code)
	}
	if strings.Join(codes, ",") != "3,5,6" {
		t.Fatalf("codes %v, want 3,5,6", codes)
	}
	if l, _ := s.Resolve(ctx, "2"); l.URL != "https://alias.example/2" {
		t.Fatalf("alias overwritten: %+v", l)
	}
	if st := s.Stats(); st.Collisions != 3 {
		t.Fatalf("collisions %d", st.Collisions)
	}
}

func TestDedupe(t *testing.T) {
	m, rdb := redistest.Mini(t)
	_ = m
	for _, tc := range []struct {
		name string
		rdb  redis.UniversalClient
	}{{"tier", redistest.Client(t)}, {"mini", rdb}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShortener(t, tc.rdb, WithDedupe())
			ctx := context.Background()
			var wg sync.WaitGroup
			codes := make([]string, 100)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l, err := s.Shorten(ctx, "https://same.example/", Owner("alice"))
					if err != nil {
						t.Error(err)
						return
					}
					codes[i] = l.Code
				}()
			}
			wg.Wait()
			for _, c := range codes {
				if c != codes[0] {
					t.Fatalf("concurrent dedupe gave %q and %q", codes[0], c)
				}
			}
			if st := s.Stats(); st.Created != 1 || st.Existing != 99 || st.Resolved != 0 {
				t.Fatalf("stats %+v", st)
			}
			bob, _ := s.Shorten(ctx, "https://same.example/", Owner("bob"))
			if bob.Code == codes[0] || bob.Existing {
				t.Fatalf("other owner shares the link: %+v", bob)
			}
			// The 99 losing codes were deleted: only the winner resolves.
			if _, err := s.Resolve(ctx, codes[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDedupeAfterExpiry(t *testing.T) {
	m, rdb := redistest.Mini(t)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newShortener(t, rdb, WithDedupe(), WithClock(clk.now))
	ctx := context.Background()
	a, _ := s.Shorten(ctx, "https://e.example/", Owner("o"), TTL(time.Minute))
	b, _ := s.Shorten(ctx, "https://e.example/", Owner("o"), TTL(time.Minute))
	if a.Code != b.Code || !b.Existing {
		t.Fatalf("%+v %+v", a, b)
	}
	clk.add(2 * time.Minute)
	m.FastForward(2 * time.Minute)
	c, _ := s.Shorten(ctx, "https://e.example/", Owner("o"))
	if c.Code == a.Code || c.Existing {
		t.Fatalf("expired link reused: %+v", c)
	}
}

func TestShortenRejectsBeforeIO(t *testing.T) {
	// A client to nowhere: any I/O would fail with a dial error, not the typed one.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	s := newShortener(t, rdb)
	ctx := context.Background()
	cases := []struct {
		url  string
		opts []LinkOption
		want error
	}{
		{"ftp://x.example/", nil, ErrSchemeNotAllowed},
		{"https://x.example/" + strings.Repeat("a", 3000), nil, ErrURLTooLong},
		{"https://x.example/", []LinkOption{TTL(-time.Second)}, ErrInvalidTTL},
		{"https://x.example/", []LinkOption{Owner(strings.Repeat("o", 300))}, ErrInvalidOwner},
		{"not a url", nil, ErrInvalidURL},
	}
	for _, c := range cases {
		if _, err := s.Shorten(ctx, c.url, c.opts...); !errors.Is(err, c.want) {
			t.Fatalf("Shorten(%q): %v, want %v", c.url, err, c.want)
		}
	}
}

func TestValidateURL(t *testing.T) {
	ok := []string{"https://example.com", "http://例え.jp/パス", "HTTPS://EXAMPLE.COM/x?y#z", "https://[::1]:8080/"}
	for _, u := range ok {
		if err := ValidateURL(u, 2048, "http", "https"); err != nil {
			t.Errorf("ValidateURL(%q) = %v", u, err)
		}
	}
	bad := map[string]error{
		"":                         ErrInvalidURL,
		"javascript:alert(1)":      ErrSchemeNotAllowed,
		"https://a.example/ b":     ErrInvalidURL,
		"https://a.example/\x00":   ErrInvalidURL,
		"/relative":                ErrSchemeNotAllowed,
		"https:///nohost":          ErrInvalidURL,
		"https://u:p@evil.example": ErrInvalidURL,
		"https://%zz":              ErrInvalidURL,
		"https:opaque":             ErrInvalidURL,
	}
	for u, want := range bad {
		if err := ValidateURL(u, 2048, "http", "https"); !errors.Is(err, want) {
			t.Errorf("ValidateURL(%q) = %v, want %v", u, err, want)
		}
	}
}

// FuzzValidateURL: never panics, errors are typed, and an accepted URL parses
// with an allowed scheme and a host.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://example.com/", "javascript:x", "http://a@b", "https://[::1", "http://例え.jp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateURL(s, 512, "http", "https")
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(s) > 512 || strings.ContainsAny(s, " \t\r\n") {
			t.Fatalf("accepted %q", s)
		}
		l := strings.ToLower(s)
		if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			t.Fatalf("accepted scheme of %q", s)
		}
	})
}

// FuzzResolveCode: arbitrary path segments are rejected or looked up, never panic.
func FuzzResolveCode(f *testing.F) {
	_, rdb := redistest.Mini(f)
	s, err := New(rdb)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("abc")
	f.Add("../x")
	f.Add("{tag}")
	f.Fuzz(func(t *testing.T, code string) {
		_, err := s.Resolve(context.Background(), code)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Resolve(%q): %v", code, err)
		}
	})
}
