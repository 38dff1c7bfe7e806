//go:build !linux

package shorturl

import "time"

// threadCPU falls back to wall time where per-thread CPU time is not available.
func threadCPU(f func()) time.Duration {
	t := time.Now()
	f()
	return time.Since(t)
}
