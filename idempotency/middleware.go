package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// ReplayHeader is set to "true" on a response replayed from the store.
const ReplayHeader = "Idempotent-Replayed"

// DefaultMaxRequestBytes bounds the request body the middleware reads to fingerprint.
const DefaultMaxRequestBytes = 1 << 20

// HTTPOption configures Middleware.
type HTTPOption func(*httpConfig)

type httpConfig struct {
	optional    bool
	strict      bool
	methods     map[string]bool
	scope       func(*http.Request) string
	fingerprint func(r *http.Request, body []byte) string
	maxRequest  int64
	storeStatus func(int) bool
}

// Optional makes the header optional: a request without it passes straight to the
// handler. By default the key is required and a request without it gets 400.
func Optional() HTTPOption { return func(c *httpConfig) { c.optional = true } }

// StrictHeader accepts only the draft's quoted sf-string form of the key.
func StrictHeader() HTTPOption { return func(c *httpConfig) { c.strict = true } }

// Methods sets which methods are made idempotent (default POST and PATCH, the
// methods HTTP itself does not make idempotent); other methods pass through.
func Methods(m ...string) HTTPOption {
	return func(c *httpConfig) {
		c.methods = map[string]bool{}
		for _, x := range m {
			c.methods[x] = true
		}
	}
}

// Scope names the caller the key belongs to (e.g. the authenticated user or API
// client) so two clients' equal keys never collide. Default: one global scope —
// set this in any service with more than one client.
func Scope(f func(*http.Request) string) HTTPOption {
	return func(c *httpConfig) {
		if f != nil {
			c.scope = f
		}
	}
}

// RequestFingerprint replaces the default fingerprint, Fingerprint(method,
// request URI, body), e.g. to ignore a field that legitimately differs between
// retries.
func RequestFingerprint(f func(r *http.Request, body []byte) string) HTTPOption {
	return func(c *httpConfig) {
		if f != nil {
			c.fingerprint = f
		}
	}
}

// MaxRequestBytes bounds the request body (default 1 MiB); larger gets 413. The
// response is bounded by the Store's WithMaxResultBytes.
func MaxRequestBytes(n int64) HTTPOption {
	return func(c *httpConfig) {
		if n > 0 {
			c.maxRequest = n
		}
	}
}

// StoreStatus decides which response statuses are stored and replayed. Default:
// every status below 500 except 408, 409, 425 and 429 (those, and 5xx, say "try
// again", so the key is released and a retry runs the handler again).
func StoreStatus(f func(status int) bool) HTTPOption {
	return func(c *httpConfig) {
		if f != nil {
			c.storeStatus = f
		}
	}
}

// DefaultStoreStatus is the default of StoreStatus.
func DefaultStoreStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return status < 500
}

// storedResponse is what the store keeps per key.
type storedResponse struct {
	Status int         `json:"s"`
	Header http.Header `json:"h,omitempty"`
	Body   []byte      `json:"b,omitempty"`
}

// errNotStored tells Do to release the key: the handler answered with a status the
// policy does not store, or a response too large to keep.
var errNotStored = errors.New("idempotency: response not stored")

func releaseAll(error) Decision { return Release }

// Middleware makes handlers idempotent per the IETF Idempotency-Key draft:
//
//   - a request without the header gets 400 (unless Optional), a malformed or
//     too long key gets 400, a body over MaxRequestBytes gets 413;
//   - the first request with a key runs the handler; its status, headers and body
//     are stored (subject to StoreStatus) for the Store's retention;
//   - a concurrent duplicate gets 409 with Retry-After (or waits, WithWait);
//   - a later duplicate gets the stored response with "Idempotent-Replayed: true";
//   - the same key with a different fingerprint gets 422;
//   - Redis unreachable: 503 (fail closed; the handler does not run).
//
// Error bodies are RFC 9457 application/problem+json.
func (s *Store) Middleware(opts ...HTTPOption) func(http.Handler) http.Handler {
	c := httpConfig{
		methods:     map[string]bool{http.MethodPost: true, http.MethodPatch: true},
		scope:       func(*http.Request) string { return "" },
		maxRequest:  DefaultMaxRequestBytes,
		storeStatus: DefaultStoreStatus,
		fingerprint: func(r *http.Request, body []byte) string {
			return Fingerprint([]byte(r.Method), []byte(r.URL.RequestURI()), body)
		},
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.serveIdempotent(&c, next, w, r)
		})
	}
}

func (s *Store) serveIdempotent(c *httpConfig, next http.Handler, w http.ResponseWriter, r *http.Request) {
	if !c.methods[r.Method] {
		next.ServeHTTP(w, r)
		return
	}
	values := r.Header.Values(HeaderName)
	if len(values) == 0 {
		if c.optional {
			next.ServeHTTP(w, r)
			return
		}
		problem(w, http.StatusBadRequest, "Idempotency-Key is missing",
			fmt.Sprintf("this endpoint requires an Idempotency-Key header; keys are kept for %v after the request completes", s.cfg.retention))
		return
	}
	if len(values) > 1 {
		problem(w, http.StatusBadRequest, "Idempotency-Key is malformed", "the header must appear once")
		return
	}
	id, err := ParseKeyHeader(values[0], c.strict)
	if err == nil && len(id) > s.cfg.maxKeyBytes {
		err = ErrKeyTooLong
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "Idempotency-Key is malformed", err.Error())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, c.maxRequest+1))
	if err != nil {
		problem(w, http.StatusBadRequest, "request body unreadable", err.Error())
		return
	}
	if int64(len(body)) > c.maxRequest {
		problem(w, http.StatusRequestEntityTooLarge, "request body too large",
			fmt.Sprintf("idempotent requests are limited to %d bytes", c.maxRequest))
		return
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	key := Key{Scope: c.scope(r), ID: id}
	fp := c.fingerprint(r, body)
	if err := s.cfg.validate(key, fp); err != nil {
		problem(w, http.StatusBadRequest, "Idempotency-Key is malformed", err.Error())
		return
	}
	if err := s.enter(); err != nil {
		problem(w, http.StatusServiceUnavailable, "service closing", err.Error())
		return
	}
	defer s.inflight.Done()

	var rec *recorder
	res, err := s.do(r.Context(), "k", key, fp, func(ctx context.Context) ([]byte, error) {
		rec = &recorder{w: w, max: s.cfg.maxResultBytes}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if !rec.wroteHeader {
			rec.WriteHeader(http.StatusOK)
		}
		if rec.overflow || !c.storeStatus(rec.status) {
			return nil, errNotStored
		}
		return json.Marshal(storedResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()})
	}, releaseAll)
	if rec != nil {
		// The handler ran in this request and already answered; whatever happened
		// to storing its outcome is the store's business (see Stats).
		return
	}
	switch {
	case err == nil && res.Replayed:
		replay(w, res.Value)
	case errors.Is(err, ErrInProgress):
		w.Header().Set("Retry-After", "1")
		problem(w, http.StatusConflict, "A request is outstanding for this Idempotency-Key",
			"retry after the first request completes")
	case errors.Is(err, ErrMismatch):
		problem(w, http.StatusUnprocessableEntity, "Idempotency-Key is already used",
			"this key was used with a different request payload")
	default:
		problem(w, http.StatusServiceUnavailable, "idempotency store unavailable", "retry later")
	}
}

func replay(w http.ResponseWriter, v []byte) {
	var sr storedResponse
	if err := json.Unmarshal(v, &sr); err != nil || sr.Status < 100 || sr.Status > 999 {
		problem(w, http.StatusInternalServerError, "stored response unreadable", "")
		return
	}
	h := w.Header()
	for k, vs := range sr.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set(ReplayHeader, "true")
	h.Set("Content-Length", strconv.Itoa(len(sr.Body)))
	w.WriteHeader(sr.Status)
	_, _ = w.Write(sr.Body)
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	b, _ := json.Marshal(map[string]any{"title": title, "status": status, "detail": detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// notReplayed are response headers that describe one transmission, not the
// response: they are not stored.
var notReplayed = []string{"Date", "Connection", "Keep-Alive", "Transfer-Encoding", "Trailer", "Upgrade", "Content-Length", "Proxy-Connection"}

// recorder passes the response through to the client and keeps a bounded copy.
type recorder struct {
	w           http.ResponseWriter
	max         int
	wroteHeader bool
	status      int
	header      http.Header
	body        bytes.Buffer
	overflow    bool
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		r.w.WriteHeader(code) // informational: passed on, not the final answer
		return
	}
	r.wroteHeader, r.status = true, code
	r.header = r.w.Header().Clone()
	for _, k := range notReplayed {
		r.header.Del(k)
	}
	r.w.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.overflow {
		if r.body.Len()+len(p) > r.max {
			r.overflow = true
			r.body = bytes.Buffer{}
		} else {
			r.body.Write(p)
		}
	}
	return r.w.Write(p)
}

// Flush supports streaming handlers.
func (r *recorder) Flush() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if f, ok := r.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.w }
