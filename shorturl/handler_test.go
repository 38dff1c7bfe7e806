package shorturl

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

func newHandler(t *testing.T, s *Shortener, opts ...HandlerOption) *Handler {
	t.Helper()
	h, err := NewHandler(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func get(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestHandlerStatuses(t *testing.T) {
	m, rdb := redistest.Mini(t)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newShortener(t, rdb, WithClock(clk.now))
	ctx := context.Background()
	live, _ := s.Shorten(ctx, "https://example.com/live")
	exp, _ := s.Shorten(ctx, "https://example.com/exp", TTL(time.Minute))
	clk.add(time.Hour)
	m.FastForward(time.Hour)

	h := newHandler(t, s)
	w := get(h, "GET", "/"+live.Code)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "https://example.com/live" {
		t.Fatalf("live: %d %v", w.Code, w.Header())
	}
	if w := get(h, "HEAD", "/"+live.Code); w.Code != http.StatusFound {
		t.Fatalf("HEAD: %d", w.Code)
	}
	if w := get(h, "GET", "/"+exp.Code); w.Code != http.StatusGone {
		t.Fatalf("expired: %d", w.Code)
	}
	if w := get(h, "GET", "/nope"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown: %d", w.Code)
	}
	if w := get(h, "GET", "/a/b"); w.Code != http.StatusNotFound {
		t.Fatalf("invalid code: %d", w.Code)
	}
	if w := get(h, "POST", "/"+live.Code); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", w.Code)
	}
	for _, tc := range []struct {
		keep bool
		want int
	}{{false, 301}, {true, 308}} {
		p := newHandler(t, s, Permanent(tc.keep, 5*time.Minute))
		w := get(p, "GET", "/"+live.Code)
		if w.Code != tc.want || w.Header().Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("permanent: %d %v", w.Code, w.Header())
		}
	}
	if st := h.Stats(); st.Redirects != 2 || st.Gone != 1 || st.NotFound != 2 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := NewHandler(nil); err == nil {
		t.Fatal("nil shortener accepted")
	}
}

// TestHandlerClicks: 2000 concurrent hits on two codes are all counted after
// Close, with a handful of flushes instead of one write per hit.
func TestHandlerClicks(t *testing.T) {
	s := newShortener(t, redistest.Client(t))
	ctx := context.Background()
	a, _ := s.Shorten(ctx, "https://a.example/")
	b, _ := s.Shorten(ctx, "https://b.example/")
	h, err := NewHandler(s, FlushEvery(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := a.Code
			if i%4 == 0 {
				code = b.Code
			}
			if w := get(h, "GET", "/"+code); w.Code != http.StatusFound {
				t.Errorf("status %d", w.Code)
			}
		}()
	}
	wg.Wait()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	na, _ := s.Clicks(ctx, a.Code)
	nb, _ := s.Clicks(ctx, b.Code)
	if na != 1500 || nb != 500 {
		t.Fatalf("clicks %d/%d, want 1500/500", na, nb)
	}
	st := h.Stats()
	if st.Flushes >= 1000 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("2000 hits, %d flushes", st.Flushes)
}

// TestHandlerRedisDown: with the server killed, redirects answer 503 and
// clicks counted before stay pending; after restart they are flushed.
func TestHandlerRedisDown(t *testing.T) {
	srv := redistest.Server(t, redistest.WithAOF())
	s := newShortener(t, srv.Client())
	ctx := context.Background()
	l, err := s.Shorten(ctx, "https://a.example/")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, s, FlushEvery(time.Hour))
	for range 10 {
		get(h, "GET", "/"+l.Code)
	}
	srv.Kill()
	if w := get(h, "GET", "/"+l.Code); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("redis down: %d", w.Code)
	}
	if err := h.Flush(ctx); err == nil {
		t.Fatal("flush with Redis down succeeded")
	}
	if st := h.Stats(); st.Pending != 1 || st.FlushErrors != 1 || st.Failures != 1 {
		t.Fatalf("stats %+v", st)
	}
	srv.Start()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Clicks(ctx, l.Code); n != 10 {
		t.Fatalf("clicks after restart %d, want 10", n)
	}
}
