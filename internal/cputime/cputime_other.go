//go:build !linux

package cputime

import "time"

// Thread falls back to wall time where per-thread CPU time is not available.
func Thread(f func()) time.Duration {
	t := time.Now()
	f()
	return time.Since(t)
}
