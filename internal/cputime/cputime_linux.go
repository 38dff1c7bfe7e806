//go:build linux

package cputime

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// Thread runs f locked to its OS thread and returns the CPU time that thread
// spent (CLOCK_THREAD_CPUTIME_ID, nanosecond resolution): on a shared,
// overloaded machine wall time measures the scheduler, CPU time measures the
// code ("per core").
func Thread(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadClock()
	f()
	return threadClock() - start
}

func threadClock() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return time.Duration(time.Now().UnixNano()) // wall time as a fallback
	}
	return time.Duration(ts.Nano())
}
