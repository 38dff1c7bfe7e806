package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func postJSON(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestHTTPAPIAndSSE: create, bid and read over HTTP; an SSE client sees the
// initial state and then the new price; /healthz and /metrics answer.
func TestHTTPAPIAndSSE(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	id := auctionName(t)
	if code, out := postJSON(t, e.srv.URL+"/api/auctions", CreateRequest{ID: id, Title: "Lamp", StartPrice: 7, Increment: 3, DurationMs: 60_000}); code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, _ := postJSON(t, e.srv.URL+"/api/auctions", map[string]any{"id": id, "bogus": 1}); code != 400 {
		t.Fatalf("unknown field: %d", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/auctions/"+id+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan Auction, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var a Auction
				if json.Unmarshal([]byte(d), &a) == nil && a.ID != "" {
					events <- a
				}
			}
		}
		close(events)
	}()
	next := func() Auction {
		select {
		case a, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return a
		case <-ctx.Done():
			t.Fatal("no SSE event")
		}
		return Auction{}
	}
	if a := next(); a.Price != 7 || a.BidCount != 0 {
		t.Fatalf("initial event %+v", a)
	}
	code, out := postJSON(t, e.srv.URL+"/api/auctions/"+id+"/bids", map[string]any{"bid_id": "h1", "user_id": "hank", "amount": 7})
	if code != 200 || out["result"] != "accepted" {
		t.Fatalf("bid: %d %v", code, out)
	}
	if code, out := postJSON(t, e.srv.URL+"/api/auctions/"+id+"/bids", map[string]any{"bid_id": "h2", "user_id": "ida", "amount": 8}); code != 409 || out["result"] != "too_low" {
		t.Fatalf("low bid: %d %v", code, out)
	}
	for a := next(); a.Price != 7 || a.Leader != "hank"; a = next() {
	}

	get := func(path string) (int, string) {
		r, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, body := get("/api/auctions/" + id); code != 200 || !strings.Contains(body, `"leader":"hank"`) {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _ := get("/api/auctions/nope"); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	if code, body := get("/api/auctions/" + id + "/bids"); code != 200 || !strings.Contains(body, `"bid_id":"h1"`) {
		t.Fatalf("bids: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `auction_bids_total{result="accepted"} 1`) || !strings.Contains(body, "auction_sse_streams 1") {
		t.Fatalf("metrics: %d\n%s", code, body)
	}
	// Shutdown ends the stream (it would otherwise hold http.Server.Shutdown).
	e.svc.stopStreams()
	for range events {
	}
}
