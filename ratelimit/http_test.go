package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type failing struct{}

func (failing) AllowN(context.Context, string, int) (Result, error) {
	return Result{}, ErrUnavailable
}

func TestMiddleware(t *testing.T) {
	clk := newFakeClock()
	lo, _ := NewLocal(Every(1500*time.Millisecond).WithBurst(2), WithClock(clk.Now))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h := Middleware(lo, KeyByHeader("X-User"))(ok)
	do := func(user string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/buy", nil)
		if user != "" {
			req.Header.Set("X-User", user)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i, want := range []struct {
		code      int
		remaining string
		reset     string
	}{{200, "1", "2"}, {200, "0", "3"}} {
		rec := do("alice")
		if rec.Code != want.code || rec.Header().Get("RateLimit-Remaining") != want.remaining ||
			rec.Header().Get("RateLimit-Limit") != "2" || rec.Header().Get("RateLimit-Reset") != want.reset {
			t.Fatalf("request %d: %d %v", i, rec.Code, rec.Header())
		}
	}
	rec := do("alice")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" ||
		rec.Header().Get("RateLimit-Remaining") != "0" {
		t.Fatalf("third: %d %v", rec.Code, rec.Header())
	}
	if rec := do("bob"); rec.Code != 200 {
		t.Fatalf("bob: %d", rec.Code)
	}
	// Without the header: one shared "anonymous" bucket, not a way around the limit.
	for i, want := range []int{200, 200, 429} {
		if rec := do(""); rec.Code != want {
			t.Fatalf("anonymous %d: %d", i, rec.Code)
		}
	}
	// A KeyFunc returning "" exempts the request (health checks).
	exempt := Middleware(lo, func(*http.Request) string { return "" })(ok)
	for range 5 {
		rec := httptest.NewRecorder()
		exempt.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != 200 || rec.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("exempt request: %d %v", rec.Code, rec.Header())
		}
	}

	// Errors: fail closed by default, open on request, and reported.
	var logged error
	closed := Middleware(failing{}, KeyByRemoteIP, WithErrorLog(func(_ *http.Request, err error) { logged = err }))(ok)
	rec = httptest.NewRecorder()
	closed.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable || !errors.Is(logged, ErrUnavailable) {
		t.Fatalf("fail closed: %d %v", rec.Code, logged)
	}
	open := Middleware(failing{}, KeyByRemoteIP, WithFailOpen(true))(ok)
	rec = httptest.NewRecorder()
	open.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 {
		t.Fatalf("fail open: %d", rec.Code)
	}
	teapot := Middleware(lo, KeyByHeader("X-User"), WithDeniedHandler(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })))(ok)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-User", "alice")
	rec = httptest.NewRecorder()
	teapot.ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("denied handler: %d %v", rec.Code, rec.Header())
	}
}

func TestKeyFuncs(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.9:5555"
	if k := KeyByRemoteIP(req); k != "10.0.0.9" {
		t.Fatal(k)
	}
	if k := KeyByRemoteIP(&http.Request{}); k != "unknown" {
		t.Fatal(k)
	}
	req.Header.Add("X-Forwarded-For", "6.6.6.6, 1.2.3.4")
	req.Header.Add("X-Forwarded-For", "10.0.0.1")
	for trusted, want := range map[int]string{0: "10.0.0.9", 1: "10.0.0.1", 2: "1.2.3.4", 3: "6.6.6.6", 4: "10.0.0.9"} {
		if k := KeyByForwardedFor(trusted)(req); k != want {
			t.Errorf("trusted %d: %q, want %q", trusted, k, want)
		}
	}
	req.Header.Set("X-Forwarded-For", "not-an-ip")
	if k := KeyByForwardedFor(1)(req); k != "10.0.0.9" {
		t.Errorf("garbage header: %q", k)
	}
}
