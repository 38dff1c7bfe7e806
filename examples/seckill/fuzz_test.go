package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// FuzzBuyRequest feeds arbitrary sale ids, paths, users and idempotency keys to the
// buy endpoint: it never panics or 5xxs, malformed input is a 400 before any I/O, and
// stock is never taken for a request that was not accepted.
func FuzzBuyRequest(f *testing.F) {
	e := newTestEnv(f, Config{UserRate: 1e6, UserBurst: 1e6})
	sl, _ := e.sale(f, CreateSaleRequest{ID: "fz", Stock: 1e6})
	f.Add("fz", sl.BuyPath, "u1", "k1")
	f.Add("fz", "guess", "u1", "k1")
	f.Add("fz", sl.BuyPath, "", "k")
	f.Add("fz", sl.BuyPath, "u|x", "k")
	f.Add("f{z}", "p", "u", "k")
	f.Add("fz", sl.BuyPath, "u2", string(bytes.Repeat([]byte{'k'}, 200)))
	h := e.svc.Handler()
	f.Fuzz(func(t *testing.T, sale, path, user, key string) {
		ctx := context.Background()
		before, _ := e.svc.inv.Counts(ctx, "fz")
		res, err := e.svc.Buy(ctx, sale, path, user, key, time.Now())
		if err != nil {
			t.Fatalf("Buy(%q,%q,%q,%q): %v", sale, path, user, key, err)
		}
		after, _ := e.svc.inv.Counts(ctx, "fz")
		if res.Status != "pending" && after.Available != before.Available {
			t.Fatalf("rejected buy (%s) took stock", res.Reason)
		}
		if (!validID(sale, 48) || !validID(user, 64) || key == "" || len(key) > 128) && res.Reason != reasonBadInput {
			t.Fatalf("malformed input got %+v", res)
		}
		req, err := http.NewRequest("POST", "/api/sales/"+url.PathEscape(sale)+"/buy/"+url.PathEscape(path), nil)
		if err != nil {
			return
		}
		req.Header.Set("X-User-ID", user)
		req.Header.Set("Idempotency-Key", key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("HTTP %d for %q %q %q %q", w.Code, sale, path, user, key)
		}
	})
}

// FuzzOrderID: order ids from clients are parsed without panics, and every id the
// service derives parses back to its sale.
func FuzzOrderID(f *testing.F) {
	f.Add("s", "u", "k", "s.000000000000000000000000")
	f.Add("a-b_c", "user", "", "..")
	f.Fuzz(func(t *testing.T, sale, user, key, raw string) {
		_, _ = saleOfOrder(raw)
		if !validID(sale, 48) {
			return
		}
		got, ok := saleOfOrder(orderID(sale, user, key))
		if !ok || got != sale {
			t.Fatalf("orderID(%q) parsed back as %q %v", sale, got, ok)
		}
	})
}
