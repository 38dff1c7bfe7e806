package cache

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// newToken returns a 128-bit random lease token. Uniqueness, not secrecy, is
// what matters: a token only proves "this is still my lease".
func newToken() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

func ms(d time.Duration) int64 {
	m := d.Milliseconds()
	if m < 1 {
		m = 1
	}
	return m
}

// leaseLoad is the Lease strategy's miss path: take the lease and fill, or
// wait for the holder's fill, or read the source without filling.
func (c *Cache[T]) leaseLoad(ctx context.Context, key string, ek entryKeys, load Loader[T], f *flight) (any, error) {
	token := newToken()
	keys := []string{ek.value, ek.lease}
	deadline := time.Now().Add(c.cfg.leaseWait)
	backoff := 2 * time.Millisecond
	waited := false
	for {
		c.group.stamp(f)
		res, err := leaseGetScript.Run(ctx, c.rdb, keys, token, ms(c.cfg.leaseTTL)).Slice()
		if err != nil {
			c.stats.errors.Add(1)
			return *new(T), fmt.Errorf("cache: lease %q: %w", key, err)
		}
		code, _ := res[0].(int64)
		switch code {
		case 1:
			raw, _ := res[1].(string)
			v, err := c.decodeHit(raw)
			return v, err
		case 2:
			c.stats.leasesGranted.Add(1)
			return c.leaseFill(ctx, key, keys, token, load, f)
		}
		// Another reader holds the lease: wait for its fill (or for the lease
		// to end, when we may take it), polling with a short backoff.
		if !waited {
			waited = true
			c.stats.leaseWaits.Add(1)
		}
		if time.Now().Add(backoff).After(deadline) {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return *new(T), ctx.Err()
		case <-t.C:
		}
		if backoff < 20*time.Millisecond {
			backoff *= 2
		}
	}
	// Waited long enough: read the source ourselves but never fill, since
	// only a leaseholder's fill is known not to race a writer.
	c.stats.leaseFallbacks.Add(1)
	c.group.stamp(f)
	v, err := c.callLoader(ctx, key, load)
	if err != nil && !errors.Is(err, ErrNotFound) {
		c.stats.loadErrors.Add(1)
	}
	return v, err
}

// leaseFill loads and fills under the lease. The flight's stamp is left at
// the lease grant unless the fill succeeds: a successful fill proves that no
// invalidation happened since the grant, so the value is fresh for everyone
// who joined before the fill was sent; a refused fill proves nothing beyond
// "read after the grant".
func (c *Cache[T]) leaseFill(ctx context.Context, key string, keys []string, token string, load Loader[T], f *flight) (any, error) {
	grant := f.validAt.Load()
	v, err := c.callLoader(ctx, key, load)
	var payload []byte
	ttl := c.cfg.ttl
	switch {
	case errors.Is(err, ErrNotFound):
		payload, ttl = []byte(notFoundFrame), c.cfg.notFoundTTL
	case err != nil:
		c.stats.loadErrors.Add(1)
		// Release so waiters need not sit out the lease TTL.
		_ = leaseFillScript.Run(ctx, c.rdb, keys, token, "", 0).Err()
		return v, err
	default:
		p, merr := c.codec.Marshal(v)
		if merr != nil {
			c.stats.errors.Add(1)
			_ = leaseFillScript.Run(ctx, c.rdb, keys, token, "", 0).Err()
			return v, fmt.Errorf("cache: encode %q: %w", key, merr)
		}
		payload = frame(p)
	}
	c.group.stamp(f)
	n, ferr := leaseFillScript.Run(ctx, c.rdb, keys, token, payload, ms(jitter(ttl, c.cfg.jitter))).Int64()
	c.countFill(n == 1, ferr)
	if ferr != nil || n != 1 {
		f.validAt.Store(grant)
	}
	if errors.Is(err, ErrNotFound) {
		return v, ErrNotFound
	}
	return v, nil
}
