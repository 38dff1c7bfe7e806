package ratelimit

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// KeyFunc picks the rate-limit key of a request. An empty key means "do not limit
// this request" (health checks, internal calls): return a constant such as
// "anonymous" instead if such requests must share one limit.
type KeyFunc func(*http.Request) string

// KeyByRemoteIP keys by the IP of the TCP peer (r.RemoteAddr). Behind a reverse
// proxy or load balancer every request comes from the proxy, so all clients
// would share one limit: use KeyByForwardedFor there. A request without a remote
// address (e.g. over a Unix socket) gets the shared key "unknown", never an
// unlimited pass.
func KeyByRemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if host == "" {
		return "unknown"
	}
	return host
}

// KeyByForwardedFor keys by the client IP that the trusted proxies in front of the
// service recorded in X-Forwarded-For. trustedProxies is how many proxies you run
// (each appends the address it received from): the key is the address trustedProxies
// positions from the right, which a client cannot forge. Taking the leftmost entry
// instead would let any client pick its own key and bypass the limit. When the
// header has fewer entries than that, the remote IP is used.
func KeyByForwardedFor(trustedProxies int) KeyFunc {
	return func(r *http.Request) string {
		return forwardedFor(r.Header.Values("X-Forwarded-For"), trustedProxies, KeyByRemoteIP(r))
	}
}

func forwardedFor(values []string, trusted int, remote string) string {
	if trusted < 1 {
		return remote
	}
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	if len(hops) < trusted {
		return remote
	}
	ip := hops[len(hops)-trusted]
	if net.ParseIP(ip) == nil {
		return remote
	}
	return ip
}

// KeyByHeader keys by a header that an authenticating layer in front of the
// handler sets (e.g. "X-User-ID"). Never use a header the client controls.
// Requests without the header share the key "anonymous": leaving it out must not
// be a way around the limit.
func KeyByHeader(name string) KeyFunc {
	return func(r *http.Request) string {
		if v := r.Header.Get(name); v != "" {
			return v
		}
		return "anonymous"
	}
}

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*mwConfig)

type mwConfig struct {
	denied   http.Handler
	failOpen bool
	onError  func(*http.Request, error)
}

// WithDeniedHandler replaces the default 429 body. Headers (Retry-After,
// RateLimit-*) are already set when it runs.
func WithDeniedHandler(h http.Handler) MiddlewareOption {
	return func(c *mwConfig) { c.denied = h }
}

// WithFailOpen lets requests through when the limiter returns an error (Redis down
// without fallback). The default fails closed with 503.
func WithFailOpen(open bool) MiddlewareOption { return func(c *mwConfig) { c.failOpen = open } }

// WithErrorLog receives limiter errors (for logging).
func WithErrorLog(f func(*http.Request, error)) MiddlewareOption {
	return func(c *mwConfig) { c.onError = f }
}

// Middleware limits requests by key. Every limited request gets RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset headers (IETF draft
// "RateLimit header fields for HTTP", seconds); a refused one gets 429 Too Many
// Requests with Retry-After in whole seconds, rounded up.
func Middleware(d Decider, key KeyFunc, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	c := mwConfig{}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := key(r)
			if k == "" {
				next.ServeHTTP(w, r)
				return
			}
			res, err := d.AllowN(r.Context(), k, 1)
			if err != nil {
				if c.onError != nil {
					c.onError(r, err)
				}
				if c.failOpen {
					next.ServeHTTP(w, r)
					return
				}
				http.Error(w, "rate limiter unavailable", http.StatusServiceUnavailable)
				return
			}
			h := w.Header()
			h.Set("RateLimit-Limit", strconv.Itoa(res.Limit.Burst))
			h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
			h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(res.ResetAfter), 10))
			if !res.Allowed {
				h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(res.RetryAfter), 1), 10))
				if c.denied != nil {
					c.denied.ServeHTTP(w, r)
					return
				}
				http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
