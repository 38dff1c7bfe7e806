package idempotency

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// orderHandler creates an "order" per run and answers 201 with its number.
type orderHandler struct {
	runs  atomic.Int32
	delay time.Duration
}

func (h *orderHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.runs.Add(1)
	body, _ := io.ReadAll(r.Body)
	time.Sleep(h.delay)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", fmt.Sprintf("/orders/%d", n))
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"order":%d,"req":%q}`, n, body)
}

func post(t testing.TB, srv *httptest.Server, key, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(body))
	if key != "" {
		req.Header.Set(HeaderName, key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Error(err)
		return nil, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func newHTTP(t *testing.T, h http.Handler, s *Store, opts ...HTTPOption) *httptest.Server {
	srv := httptest.NewServer(s.Middleware(opts...)(h))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPConcurrentDuplicatesOneOrder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	h := &orderHandler{delay: 150 * time.Millisecond}
	srv := newHTTP(t, h, s)
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 100
	const n = 100
	var wg sync.WaitGroup
	var created, conflicts, replays atomic.Int32
	bodies := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := post(t, srv, `"key-1"`, `{"sku":7}`)
			if resp == nil {
				return
			}
			switch resp.StatusCode {
			case http.StatusCreated:
				created.Add(1)
				if resp.Header.Get(ReplayHeader) == "true" {
					replays.Add(1)
				}
				bodies <- body
			case http.StatusConflict:
				conflicts.Add(1)
				if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("409 without Retry-After or problem body: %v", resp.Header)
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(bodies)
	if h.runs.Load() != 1 {
		t.Fatalf("handler ran %d times", h.runs.Load())
	}
	if created.Load() < 1 || created.Load()+conflicts.Load() != n {
		t.Fatalf("created=%d conflicts=%d", created.Load(), conflicts.Load())
	}
	for b := range bodies {
		if b != `{"order":1,"req":"{\"sku\":7}"}` {
			t.Fatalf("body %s", b)
		}
	}
	// A later retry replays status, headers and body.
	resp, body := post(t, srv, `"key-1"`, `{"sku":7}`)
	if resp.StatusCode != 201 || resp.Header.Get(ReplayHeader) != "true" || resp.Header.Get("Location") != "/orders/1" ||
		resp.Header.Get("Content-Type") != "application/json" || body != `{"order":1,"req":"{\"sku\":7}"}` {
		t.Fatalf("replay: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if h.runs.Load() != 1 {
		t.Fatal("replay ran the handler")
	}
}

func TestHTTPStatuses(t *testing.T) {
	t.Parallel()
	s := newStore(t, WithMaxKeyBytes(40))
	h := &orderHandler{}
	srv := newHTTP(t, h, s, MaxRequestBytes(64))

	check := func(name string, resp *http.Response, body string, want int) {
		t.Helper()
		if resp == nil || resp.StatusCode != want {
			t.Fatalf("%s: got %v %s, want %d", name, resp, body, want)
		}
		if want >= 400 {
			var p map[string]any
			if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &p) != nil || p["status"] != float64(want) {
				t.Fatalf("%s: not a problem document: %s", name, body)
			}
		}
	}
	resp, body := post(t, srv, "", `{}`)
	check("missing", resp, body, 400)
	if !strings.Contains(body, "24h0m0s") {
		t.Fatalf("400 does not publish the expiry policy: %s", body)
	}
	resp, body = post(t, srv, `"unterminated`, `{}`)
	check("malformed", resp, body, 400)
	resp, body = post(t, srv, `""`, `{}`)
	check("empty", resp, body, 400)
	resp, body = post(t, srv, `"`+strings.Repeat("k", 41)+`"`, `{}`)
	check("too long", resp, body, 400)
	resp, body = post(t, srv, "a", `{}`, HeaderName, "b")
	check("two fields", resp, body, 400)
	resp, body = post(t, srv, "big", strings.Repeat("x", 65))
	check("body too large", resp, body, 413)
	if h.runs.Load() != 0 {
		t.Fatal("handler ran for a rejected request")
	}

	resp, body = post(t, srv, "k1", `{"a":1}`)
	check("first", resp, body, 201)
	resp, body = post(t, srv, "k1", `{"a":2}`)
	check("mismatch", resp, body, 422)
	resp, body = post(t, srv, `"k1"`, `{"a":1}`) // quoted and bare forms name the same key
	check("replay", resp, body, 201)
	if resp.Header.Get(ReplayHeader) != "true" || h.runs.Load() != 1 {
		t.Fatalf("not a replay: %v runs=%d", resp.Header, h.runs.Load())
	}

	// GET passes through untouched.
	r, err := srv.Client().Get(srv.URL + "/orders")
	if err != nil || r.StatusCode != 201 {
		t.Fatalf("GET: %v %v", r, err)
	}
	r.Body.Close()
}

func TestHTTPScopeOptionalAndUnstoredStatus(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var fails atomic.Int32
	fails.Store(1)
	var runs atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		if fails.Add(-1) >= 0 {
			http.Error(w, "db down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok:", r.Header.Get("X-User"))
	})
	srv := newHTTP(t, h, s, Optional(), Scope(func(r *http.Request) string { return r.Header.Get("X-User") }))

	resp, _ := post(t, srv, "k", "b", "X-User", "alice")
	if resp.StatusCode != 503 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	resp, body := post(t, srv, "k", "b", "X-User", "alice") // 503 was not stored
	if resp.StatusCode != 200 || body != "ok:alice" || resp.Header.Get(ReplayHeader) != "" {
		t.Fatalf("retry after 503: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, srv, "k", "b", "X-User", "bob") // same key, other user
	if resp.StatusCode != 200 || body != "ok:bob" || resp.Header.Get(ReplayHeader) != "" {
		t.Fatalf("bob: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, srv, "", "b") // optional: no key, no idempotency
	if resp.StatusCode != 200 || runs.Load() != 4 {
		t.Fatalf("optional: %d %s runs=%d", resp.StatusCode, body, runs.Load())
	}
}

func TestHTTPRedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	s, _ := New(rdb)
	h := &orderHandler{}
	srv := newHTTP(t, h, s)
	resp, body := post(t, srv, "k", "b")
	if resp.StatusCode != 503 || h.runs.Load() != 0 {
		t.Fatalf("%d %s runs=%d", resp.StatusCode, body, h.runs.Load())
	}
}

func TestHTTPLargeResponseNotStored(t *testing.T) {
	t.Parallel()
	s := newStore(t, WithMaxResultBytes(100))
	var runs atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		fmt.Fprint(w, strings.Repeat("x", 200))
	})
	srv := newHTTP(t, h, s)
	for i := 0; i < 2; i++ {
		resp, body := post(t, srv, "k", "b")
		if resp.StatusCode != 200 || len(body) != 200 || resp.Header.Get(ReplayHeader) != "" {
			t.Fatalf("%d %d", resp.StatusCode, len(body))
		}
	}
	if runs.Load() != 2 || s.Stats().Released != 2 {
		t.Fatalf("runs=%d stats=%+v", runs.Load(), s.Stats())
	}
}

func TestHTTPHandlerPanicReleasesKey(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var runs atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			panic(http.ErrAbortHandler) // net/http recovers this one silently
		}
		fmt.Fprint(w, "ok")
	})
	srv := newHTTP(t, h, s)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("b"))
	req.Header.Set(HeaderName, "k")
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("aborted handler produced a response")
	}
	resp, body := post(t, srv, "k", "b")
	if resp.StatusCode != 200 || body != "ok" || runs.Load() != 2 {
		t.Fatalf("%d %s runs=%d", resp.StatusCode, body, runs.Load())
	}
}
