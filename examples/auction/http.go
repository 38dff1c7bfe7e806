package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

//go:embed web/index.html
var webFS embed.FS

// Handler returns the HTTP API:
//
//	GET  /                          the live page (?auction=ID&user=NAME)
//	POST /api/auctions              create (CreateRequest)
//	GET  /api/auctions/{id}         state, from the cache
//	GET  /api/auctions/{id}/bids    accepted bids, from SQL
//	POST /api/auctions/{id}/bids    bid {bid_id, user_id, amount}
//	GET  /api/auctions/{id}/events  Server-Sent Events: one "state" event per change
//	GET  /metrics, /healthz
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, name string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			rw := &statusWriter{ResponseWriter: w, code: 200}
			h(rw, r)
			s.m.requests.WithLabelValues(name, strconv.Itoa(rw.code)).Inc()
		})
	}
	route("GET /{$}", "page", func(w http.ResponseWriter, r *http.Request) {
		b, _ := webFS.ReadFile("web/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b)
	})
	route("POST /api/auctions", "create", func(w http.ResponseWriter, r *http.Request) {
		var req CreateRequest
		if !decode(w, r, &req) {
			return
		}
		a, err := s.Create(r.Context(), req)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, a)
	})
	route("GET /api/auctions/{id}", "get", func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			s.writeErr(w, err)
			return
		}
		writeJSON(w, 200, a)
	})
	route("GET /api/auctions/{id}/bids", "bids", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !validID(id) {
			s.writeErr(w, fmt.Errorf("%w: bad auction id", ErrBadInput))
			return
		}
		bids, err := s.store.Bids(r.Context(), id)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		writeJSON(w, 200, bids)
	})
	route("POST /api/auctions/{id}/bids", "bid", func(w http.ResponseWriter, r *http.Request) {
		var req BidRequest
		if !decode(w, r, &req) {
			return
		}
		req.AuctionID = r.PathValue("id")
		res, err := s.Bid(r.Context(), req)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		code := 200
		switch res.Result {
		case ResultTooLow, ResultClosed:
			code = http.StatusConflict
		case ResultNotFound:
			code = http.StatusNotFound
		}
		writeJSON(w, code, res)
	})
	route("GET /api/auctions/{id}/events", "events", s.events)
	mux.Handle("GET /metrics", s.m.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := errors.Join(s.rdb.Ping(ctx).Err(), s.store.Ping(ctx)); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// events streams the auction's state: the current one at once, then every change
// published by this instance, and the cached state every second (changes made by
// other instances). It ends when the client leaves or the service closes.
func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := s.Get(r.Context(), id)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, unsub := s.hub.subscribe(id)
	defer unsub()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	var last int64 = -1
	send := func(a Auction) bool {
		if a.Fence < last {
			return true // older than what the client has
		}
		last = a.Fence
		b, _ := json.Marshal(a)
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send(a) {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			_, _ = io.WriteString(w, "event: bye\ndata: {}\n\n")
			fl.Flush()
			return
		case a := <-ch:
			if !send(a) {
				return
			}
		case <-tick.C:
			a, err := s.Get(r.Context(), id)
			if err == nil && a.Fence > last {
				if !send(a) {
					return
				}
			}
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad json: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Service) writeErr(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadInput):
		code = http.StatusBadRequest
	case errors.Is(err, errNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrRateLimited):
		code = http.StatusTooManyRequests
	case errors.Is(err, ErrInProgress), errors.Is(err, ErrMismatch):
		code = http.StatusConflict
	}
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "err", err)
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
