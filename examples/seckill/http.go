package main

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

//go:embed web
var webFS embed.FS

// Handler returns the service's HTTP API:
//
//	GET  /                                  the sale page
//	GET  /healthz                           Redis + DB reachable
//	GET  /metrics                           Prometheus text format
//	GET  /api/sales                         sales, newest first
//	GET  /api/sales/{id}                    item details; buy_path only once started
//	GET  /api/sales/{id}/stock              live available count
//	POST /api/sales/{id}/token/{path}       X-User-ID → the user's one-time pre-order token
//	POST /api/sales/{id}/buy/{path}         X-User-ID + X-Preorder-Token → 202 {order_id}
//	GET  /api/orders/{id}                   result polling
//	POST /api/orders/{id}/pay               X-User-ID → payment confirm
//	POST /admin/sales                       create (JSON CreateSaleRequest)
//	POST /admin/sales/{id}/restock          {"op":..., "qty":...}
//	POST /admin/sales/{id}/close
//	GET  /admin/sales/{id}/reconcile        Redis vs DB vs stock
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(name, h))
	}
	static, _ := fs.Sub(webFS, "web")
	route("GET /{$}", "page", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	route("GET /healthz", "healthz", s.handleHealth)
	mux.Handle("GET /metrics", s.metrics.handler())
	route("GET /api/sales", "sales", s.handleSales)
	route("GET /api/sales/{id}", "sale", s.handleSale)
	route("GET /api/sales/{id}/stock", "stock", s.handleStock)
	route("POST /api/sales/{id}/token/{path}", "token", s.handleToken)
	route("POST /api/sales/{id}/buy/{path}", "buy", s.handleBuy)
	route("GET /api/orders/{id}", "order", s.handleOrder)
	route("POST /api/orders/{id}/pay", "pay", s.handlePay)
	route("POST /admin/sales", "admin_create", s.admin(s.handleCreate))
	route("POST /admin/sales/{id}/restock", "admin_restock", s.admin(s.handleRestock))
	route("POST /admin/sales/{id}/close", "admin_close", s.admin(s.handleClose))
	route("GET /admin/sales/{id}/reconcile", "admin_reconcile", s.admin(s.handleReconcile))
	return mux
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

var codeLabels = func() map[int]string {
	m := map[int]string{}
	for c := 100; c < 600; c++ {
		m[c] = strconv.Itoa(c)
	}
	return m
}()

func (s *Service) instrument(route string, h http.HandlerFunc) http.Handler {
	lat := s.metrics.latency.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h(sw, r)
		lat.Observe(time.Since(start).Seconds())
		s.metrics.requests.WithLabelValues(route, codeLabels[sw.code]).Inc()
		if sw.code >= 500 {
			s.log.Warn("request failed", "route", route, "path", r.URL.Path, "code", sw.code)
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, map[string]string{"error": reason})
}

// httpError maps service errors to status codes; internal errors are logged by
// instrument (as 5xx) without leaking details.
func (s *Service) httpError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBadInput):
		writeErr(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnknownSale), errors.Is(err, ErrUnknownOrder), errors.Is(err, errNotFound):
		writeErr(w, http.StatusNotFound, "not found")
	case errors.Is(err, errConflict):
		writeErr(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrReleased):
		writeErr(w, http.StatusConflict, "expired")
	case errors.Is(err, context.Canceled):
		writeErr(w, 499, "client closed request")
	default:
		s.log.Error("internal error", "path", r.URL.Path, "err", err)
		writeErr(w, http.StatusServiceUnavailable, "temporarily unavailable")
	}
}

func (s *Service) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken != "" {
			want := "Bearer " + s.cfg.AdminToken
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
				writeErr(w, http.StatusUnauthorized, "admin token required")
				return
			}
		}
		h(w, r)
	}
}

func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		writeErr(w, http.StatusServiceUnavailable, "redis: "+err.Error())
		return
	}
	if err := s.store.Ping(ctx); err != nil {
		writeErr(w, http.StatusServiceUnavailable, "db: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// saleView is the public view of a sale; BuyPath appears only once the sale started,
// so scripts cannot pre-fire the buy endpoint.
type saleView struct {
	Sale
	ServerNow int64  `json:"server_now"`
	Started   bool   `json:"started"`
	BuyPath   string `json:"buy_path,omitempty"`
	TokenPath string `json:"token_path,omitempty"`
}

func (s *Service) view(sl Sale, now time.Time) saleView {
	v := saleView{Sale: sl, ServerNow: now.UnixMilli(), Started: now.UnixMilli() >= sl.StartAt}
	if v.Started && !sl.Closed && now.UnixMilli() < sl.EndAt {
		v.BuyPath = "/api/sales/" + sl.ID + "/buy/" + sl.BuyPath
		v.TokenPath = "/api/sales/" + sl.ID + "/token/" + sl.BuyPath
	}
	return v
}

func (s *Service) handleSales(w http.ResponseWriter, r *http.Request) {
	sales, err := s.store.Sales(r.Context())
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	now := time.Now()
	out := make([]saleView, 0, len(sales))
	for _, sl := range sales {
		out = append(out, s.view(sl, now))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) handleSale(w http.ResponseWriter, r *http.Request) {
	sl, err := s.sales.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(sl, time.Now()))
}

func (s *Service) handleStock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(id, 48) {
		writeErr(w, http.StatusBadRequest, "bad sale id")
		return
	}
	c, err := s.inv.Counts(r.Context(), id)
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"available": c.Available, "reserved": c.Reserved, "sold": c.Sold})
}

var reasonCodes = map[string]int{
	reasonBadInput:   http.StatusBadRequest,
	reasonNotStarted: http.StatusForbidden,
	reasonEnded:      http.StatusGone,
	reasonBadPath:    http.StatusNotFound,
	reasonRateLimit:  http.StatusTooManyRequests,
	reasonBadToken:   http.StatusForbidden,
	reasonExpired:    http.StatusGone,
	reasonBusy:       http.StatusConflict,
	reasonSoldOut:    http.StatusGone,
	reasonLimit:      http.StatusConflict,
	reasonNoSale:     http.StatusNotFound,
}

func (s *Service) handleToken(w http.ResponseWriter, r *http.Request) {
	res, err := s.Token(r.Context(), r.PathValue("id"), r.PathValue("path"), r.Header.Get("X-User-ID"), time.Now())
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	if res.Status == "rejected" {
		s.metrics.buys.WithLabelValues("token_" + res.Reason).Inc()
		if res.Reason == reasonRateLimit {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, reasonCodes[res.Reason], res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// PreorderHeader carries the pre-order token on a buy.
const PreorderHeader = "X-Preorder-Token"

func (s *Service) handleBuy(w http.ResponseWriter, r *http.Request) {
	res, err := s.Buy(r.Context(), r.PathValue("id"), r.PathValue("path"),
		r.Header.Get("X-User-ID"), r.Header.Get(PreorderHeader), time.Now())
	if err != nil {
		s.metrics.buys.WithLabelValues(reasonError).Inc()
		s.httpError(w, r, err)
		return
	}
	if res.Status == "rejected" {
		s.metrics.buys.WithLabelValues(res.Reason).Inc()
		if res.Reason == reasonRateLimit {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, reasonCodes[res.Reason], res)
		return
	}
	if res.Duplicate {
		s.metrics.buys.WithLabelValues("duplicate").Inc()
	} else {
		s.metrics.buys.WithLabelValues("accepted").Inc()
	}
	w.Header().Set("Location", "/api/orders/"+res.OrderID)
	writeJSON(w, http.StatusAccepted, res)
}

func (s *Service) handleOrder(w http.ResponseWriter, r *http.Request) {
	v, err := s.Order(r.Context(), r.PathValue("id"))
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Service) handlePay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.Pay(r.Context(), id, r.Header.Get("X-User-ID")); err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"order_id": id, "status": "paid"})
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Join(errBadInput, err)
	}
	return nil
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req CreateSaleRequest
	if err := decode(r, &req); err != nil {
		s.httpError(w, r, err)
		return
	}
	sl, err := s.CreateSale(r.Context(), req)
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.adminView(sl))
}

// adminView includes the buy path so an operator can test before the start.
func (s *Service) adminView(sl Sale) map[string]any {
	return map[string]any{"sale": sl, "buy_path": "/api/sales/" + sl.ID + "/buy/" + sl.BuyPath}
}

func (s *Service) handleRestock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Op  string `json:"op"`
		Qty int64  `json:"qty"`
	}
	if err := decode(r, &req); err != nil {
		s.httpError(w, r, err)
		return
	}
	if err := s.Restock(r.Context(), r.PathValue("id"), req.Op, req.Qty); err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sale": r.PathValue("id"), "op": req.Op, "qty": req.Qty})
}

func (s *Service) handleClose(w http.ResponseWriter, r *http.Request) {
	if err := s.CloseSale(r.Context(), r.PathValue("id")); err != nil {
		s.httpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sale": r.PathValue("id"), "closed": true})
}

func (s *Service) handleReconcile(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Reconcile(r.Context(), r.PathValue("id"), 2*time.Second)
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	code := http.StatusOK
	if !rec.OK {
		code = http.StatusConflict
	}
	writeJSON(w, code, rec)
}
