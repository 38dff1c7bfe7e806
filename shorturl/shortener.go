package shorturl

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed dedupe.lua
var dedupeLua string

var dedupeScript = redis.NewScript(dedupeLua)

// maxCollisions bounds how many generated codes in a row may be found already
// taken by custom aliases before Shorten gives up.
const maxCollisions = 64

// Link is a stored short link.
type Link struct {
	Code      string
	URL       string
	ExpiresAt time.Time // zero: never
	// Existing is true when Shorten returned an earlier link of the same owner
	// and URL (WithDedupe) instead of creating one.
	Existing bool
}

// LinkOption configures one Shorten or Claim call.
type LinkOption func(*linkConfig)

type linkConfig struct {
	ttl   time.Duration
	owner string
}

// TTL makes the link expire after d (must be positive). After expiry it answers
// ErrExpired (HTTP 410) for the tombstone period, then ErrNotFound.
func TTL(d time.Duration) LinkOption { return func(c *linkConfig) { c.ttl = d } }

// Owner names who makes the link; with WithDedupe, one owner shortening the
// same URL twice gets the same live code.
func Owner(o string) LinkOption { return func(c *linkConfig) { c.owner = o } }

// Shortener creates and resolves short links stored in Redis.
type Shortener struct {
	rdb   redis.UniversalClient
	cfg   config
	alloc *Allocator

	created, existing, collisions, resolved, missing, expired atomic.Int64
}

// Stats is a snapshot of a Shortener's counters.
type Stats struct {
	Created    int64 // links written (generated codes and aliases)
	Existing   int64 // Shorten calls answered by dedupe
	Collisions int64 // generated codes skipped because an alias held them
	Resolved   int64
	NotFound   int64
	Expired    int64
	Allocator  AllocatorStats
}

// New returns a Shortener. It does no I/O.
func New(rdb redis.UniversalClient, opts ...Option) (*Shortener, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	a, err := newAllocator(rdb, cfg)
	if err != nil {
		return nil, err
	}
	return &Shortener{rdb: rdb, cfg: cfg, alloc: a}, nil
}

// NextCode returns a fresh code that no other call (in any process sharing the
// counter) gets, without storing anything. Shorten uses it.
func (s *Shortener) NextCode(ctx context.Context) (string, error) {
	id, err := s.alloc.Next(ctx)
	if err != nil {
		return "", err
	}
	return s.code(id)
}

func (s *Shortener) code(id uint64) (string, error) {
	if p := s.cfg.perm; p != nil {
		y, err := p.Permute(id)
		if err != nil {
			return "", ErrExhausted
		}
		return EncodeFixed(y, p.width)
	}
	return Encode(id), nil
}

func (s *Shortener) linkKey(code string) string  { return s.cfg.prefix + "su:l:{" + code + "}" }
func (s *Shortener) clickKey(code string) string { return s.cfg.prefix + "su:c:{" + code + "}" }
func (s *Shortener) dedupeKey(owner, u string) string {
	h := sha256.Sum256([]byte(owner + "\x00" + u))
	return s.cfg.prefix + "su:d:" + hex.EncodeToString(h[:16])
}

func (s *Shortener) linkConfig(longURL string, opts []LinkOption) (linkConfig, error) {
	var lc linkConfig
	for _, o := range opts {
		o(&lc)
	}
	if err := ValidateURL(longURL, s.cfg.maxURLLen, s.cfg.schemes...); err != nil {
		return lc, err
	}
	if lc.ttl < 0 || (lc.ttl > 0 && lc.ttl < time.Millisecond) {
		return lc, ErrInvalidTTL
	}
	if len(lc.owner) > 256 {
		return lc, ErrInvalidOwner
	}
	return lc, nil
}

// record is the stored value: "<expiry unix ms>\n<url>", expiry 0 for none.
// Keeping the expiry inside the value (and the key alive for the tombstone
// period after it) is what lets Resolve tell expired from unknown.
func record(exp time.Time, u string) string {
	var ms int64
	if !exp.IsZero() {
		ms = exp.UnixMilli()
	}
	return strconv.FormatInt(ms, 10) + "\n" + u
}

func parseRecord(code, v string) (Link, error) {
	i := strings.IndexByte(v, '\n')
	if i < 0 {
		return Link{}, fmt.Errorf("shorturl: corrupt record for %q", code)
	}
	ms, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil {
		return Link{}, fmt.Errorf("shorturl: corrupt record for %q", code)
	}
	l := Link{Code: code, URL: v[i+1:]}
	if ms != 0 {
		l.ExpiresAt = time.UnixMilli(ms)
	}
	return l, nil
}

// put writes the link with SET NX: a code is never overwritten.
func (s *Shortener) put(ctx context.Context, code, u string, ttl time.Duration) (Link, bool, error) {
	l := Link{Code: code, URL: u}
	keyTTL := time.Duration(0)
	if ttl > 0 {
		l.ExpiresAt = s.cfg.now().Add(ttl).Truncate(time.Millisecond)
		keyTTL = ttl + s.cfg.grace
	}
	ok, err := s.rdb.SetNX(ctx, s.linkKey(code), record(l.ExpiresAt, u), keyTTL).Result()
	if err != nil {
		return Link{}, false, fmt.Errorf("shorturl: store link: %w", err)
	}
	if ok {
		s.created.Add(1)
	}
	return l, ok, nil
}

// Shorten stores longURL under a fresh generated code. With WithDedupe, the
// same owner shortening the same URL again gets its live link back (Existing).
func (s *Shortener) Shorten(ctx context.Context, longURL string, opts ...LinkOption) (Link, error) {
	lc, err := s.linkConfig(longURL, opts)
	if err != nil {
		return Link{}, err
	}
	var l Link
	for i := 0; ; i++ {
		if i == maxCollisions {
			return Link{}, fmt.Errorf("shorturl: %d generated codes in a row are taken by aliases", i)
		}
		code, err := s.NextCode(ctx)
		if err != nil {
			return Link{}, err
		}
		var ok bool
		if l, ok, err = s.put(ctx, code, longURL, lc.ttl); err != nil {
			return Link{}, err
		}
		if ok {
			break
		}
		s.collisions.Add(1) // an alias squats on this code: take the next ID
	}
	if !s.cfg.dedupe {
		return l, nil
	}
	return s.dedupe(ctx, lc, l)
}

// dedupe points the owner's entry for the URL at l.Code unless it points at a
// live link already, in which case l is deleted (its code was ours alone) and
// the live link is returned.
func (s *Shortener) dedupe(ctx context.Context, lc linkConfig, l Link) (Link, error) {
	key := s.dedupeKey(lc.owner, l.URL)
	var px int64
	if lc.ttl > 0 {
		px = lc.ttl.Milliseconds()
	}
	stale := ""
	for range 4 {
		cur, err := dedupeScript.Run(ctx, s.rdb, []string{key}, stale, l.Code, px).Text()
		if err != nil {
			return l, fmt.Errorf("shorturl: dedupe: %w", err)
		}
		if cur == l.Code {
			return l, nil
		}
		prev, err := s.lookup(ctx, cur)
		if err == nil && prev.URL == l.URL {
			if err := s.rdb.Del(ctx, s.linkKey(l.Code)).Err(); err != nil {
				return l, fmt.Errorf("shorturl: drop duplicate: %w", err)
			}
			s.created.Add(-1)
			s.existing.Add(1)
			prev.Existing = true
			return prev, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExpired) {
			return l, err
		}
		stale = cur // the earlier link is gone: replace the entry
	}
	return l, nil // keep the new link; the entry is contended, dedupe is best effort
}

// Claim stores longURL under a custom alias (1..64 bytes of [A-Za-z0-9_-]),
// atomically: of concurrent claims of one alias exactly one succeeds, the others
// get ErrAliasTaken. An alias shares the code namespace; a generated code that
// an alias already holds is skipped.
func (s *Shortener) Claim(ctx context.Context, alias, longURL string, opts ...LinkOption) (Link, error) {
	if !validAlias(alias) {
		return Link{}, ErrInvalidAlias
	}
	lc, err := s.linkConfig(longURL, opts)
	if err != nil {
		return Link{}, err
	}
	l, ok, err := s.put(ctx, alias, longURL, lc.ttl)
	if err != nil {
		return Link{}, err
	}
	if !ok {
		return Link{}, ErrAliasTaken
	}
	return l, nil
}

// Resolve returns the link stored under code, ErrExpired when it has expired
// (within the tombstone period) and ErrNotFound otherwise.
func (s *Shortener) Resolve(ctx context.Context, code string) (Link, error) {
	l, err := s.lookup(ctx, code)
	switch {
	case err == nil:
		s.resolved.Add(1)
	case errors.Is(err, ErrNotFound):
		s.missing.Add(1)
	case errors.Is(err, ErrExpired):
		s.expired.Add(1)
	}
	return l, err
}

// lookup is Resolve without the counters (dedupe uses it internally).
func (s *Shortener) lookup(ctx context.Context, code string) (Link, error) {
	if !validAlias(code) {
		return Link{}, ErrNotFound
	}
	v, err := s.rdb.Get(ctx, s.linkKey(code)).Result()
	if err == redis.Nil {
		return Link{}, ErrNotFound
	}
	if err != nil {
		return Link{}, fmt.Errorf("shorturl: resolve: %w", err)
	}
	l, err := parseRecord(code, v)
	if err != nil {
		return Link{}, err
	}
	if !l.ExpiresAt.IsZero() && !s.cfg.now().Before(l.ExpiresAt) {
		return l, ErrExpired
	}
	return l, nil
}

// Clicks returns the clicks flushed to Redis for code so far.
func (s *Shortener) Clicks(ctx context.Context, code string) (int64, error) {
	if !validAlias(code) {
		return 0, ErrInvalidAlias
	}
	n, err := s.rdb.Get(ctx, s.clickKey(code)).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

// Stats returns a snapshot of the counters.
func (s *Shortener) Stats() Stats {
	return Stats{
		Created:    s.created.Load(),
		Existing:   s.existing.Load(),
		Collisions: s.collisions.Load(),
		Resolved:   s.resolved.Load(),
		NotFound:   s.missing.Load(),
		Expired:    s.expired.Load(),
		Allocator:  s.alloc.Stats(),
	}
}

// Close stops the allocator (waiting for a prefetch in flight).
func (s *Shortener) Close() error { return s.alloc.Close() }
