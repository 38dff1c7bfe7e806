package shorturl

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// HandlerOption configures a Handler.
type HandlerOption func(*handlerConfig)

type handlerConfig struct {
	status   int
	maxAge   time.Duration
	interval time.Duration
	timeout  time.Duration
}

// Permanent makes the handler answer 301 (or 308 when keepMethod) with
// "Cache-Control: public, max-age=<maxAge>". A permanent redirect is cached by
// browsers and proxies, so clicks stop reaching the server and a link can no
// longer be changed or expired for those clients: keep maxAge short (minutes).
func Permanent(keepMethod bool, maxAge time.Duration) HandlerOption {
	return func(c *handlerConfig) {
		c.status, c.maxAge = http.StatusMovedPermanently, maxAge
		if keepMethod {
			c.status = http.StatusPermanentRedirect
		}
	}
}

// FlushEvery sets how often aggregated click counts are written to Redis
// (default 1s).
func FlushEvery(d time.Duration) HandlerOption { return func(c *handlerConfig) { c.interval = d } }

// Handler is the redirect endpoint: GET or HEAD /<code>. It answers 302 Found
// (by default), 301/308 (Permanent), 404 for unknown codes, 410 for expired ones,
// 405 for other methods and 503 when Redis fails. Clicks are counted in memory
// and added to Redis every FlushEvery by one pipeline of INCRBY, so a hit costs
// one GET and no write. Close flushes what is left.
type Handler struct {
	s   *Shortener
	cfg handlerConfig

	mu     sync.Mutex
	clicks map[string]int64

	stop chan struct{}
	done chan struct{}
	once sync.Once

	redirects, notFound, gone, failures, flushes, flushErrs atomic.Int64
}

// HandlerStats is a snapshot of a Handler's counters.
type HandlerStats struct {
	Redirects, NotFound, Gone, Failures int64
	Flushes, FlushErrors                int64
	Pending                             int // codes with clicks not yet flushed
}

// NewHandler starts the handler and its click flusher; stop it with Close.
func NewHandler(s *Shortener, opts ...HandlerOption) (*Handler, error) {
	cfg := handlerConfig{status: http.StatusFound, interval: time.Second, timeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if s == nil || cfg.interval <= 0 || cfg.maxAge < 0 {
		return nil, errorf("handler needs a Shortener, a positive flush interval and max-age >= 0")
	}
	h := &Handler{s: s, cfg: cfg, clicks: map[string]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go h.loop()
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	code := strings.TrimPrefix(r.URL.Path, "/")
	l, err := h.s.Resolve(r.Context(), code)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		h.notFound.Add(1)
		http.NotFound(w, r)
		return
	case errors.Is(err, ErrExpired):
		h.gone.Add(1)
		http.Error(w, "link expired", http.StatusGone)
		return
	default:
		h.failures.Add(1)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	h.redirects.Add(1)
	h.mu.Lock()
	h.clicks[code]++
	h.mu.Unlock()
	if h.cfg.status != http.StatusFound {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.cfg.maxAge/time.Second)))
	} else {
		// A 302 is not cached unless told so; say it explicitly for proxies.
		w.Header().Set("Cache-Control", "private, no-cache")
	}
	w.Header().Set("Location", l.URL)
	w.WriteHeader(h.cfg.status)
}

func (h *Handler) loop() {
	defer close(h.done)
	t := time.NewTicker(h.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
			_ = h.Flush(ctx)
			cancel()
		case <-h.stop:
			return
		}
	}
}

// Flush writes the aggregated clicks now. On failure the counts are put back
// and retried by the next flush, so none is lost while the process lives.
func (h *Handler) Flush(ctx context.Context) error {
	h.mu.Lock()
	batch := h.clicks
	if len(batch) == 0 {
		h.mu.Unlock()
		return nil
	}
	h.clicks = make(map[string]int64, len(batch))
	h.mu.Unlock()

	pipe := h.s.rdb.Pipeline()
	cmds := make(map[string]*redis.IntCmd, len(batch))
	for code, n := range batch {
		cmds[code] = pipe.IncrBy(ctx, h.s.clickKey(code), n)
	}
	_, err := pipe.Exec(ctx)
	h.flushes.Add(1)
	if err != nil {
		// Put back the counts whose INCRBY failed. A command whose reply was lost
		// after Redis applied it is counted again: over-counting on a network
		// fault is preferred to losing clicks.
		h.flushErrs.Add(1)
		h.mu.Lock()
		for code, n := range batch {
			if cmds[code].Err() != nil {
				h.clicks[code] += n
			}
		}
		h.mu.Unlock()
	}
	return err
}

// Close stops the flusher and flushes the remaining clicks.
func (h *Handler) Close() error {
	h.once.Do(func() { close(h.stop) })
	<-h.done
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	return h.Flush(ctx)
}

// Stats returns a snapshot of the counters.
func (h *Handler) Stats() HandlerStats {
	h.mu.Lock()
	pending := len(h.clicks)
	h.mu.Unlock()
	return HandlerStats{
		Redirects: h.redirects.Load(), NotFound: h.notFound.Load(), Gone: h.gone.Load(),
		Failures: h.failures.Load(), Flushes: h.flushes.Load(), FlushErrors: h.flushErrs.Load(),
		Pending: pending,
	}
}
