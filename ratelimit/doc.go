// Package ratelimit limits events per key — per user, per IP, per hot SKU — in
// one process (Local) or across any number of processes sharing Redis (Limiter).
package ratelimit
