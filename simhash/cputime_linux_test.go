//go:build linux

package simhash

import (
	"runtime"
	"syscall"
	"time"
)

// threadCPU runs f locked to its OS thread and returns the CPU time that thread
// spent: on a shared, overloaded machine wall time measures the scheduler, CPU
// time measures the code ("per core").
func threadCPU(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, b syscall.Rusage
	const rusageThread = 1
	_ = syscall.Getrusage(rusageThread, &a)
	f()
	_ = syscall.Getrusage(rusageThread, &b)
	return time.Duration(b.Utime.Nano()+b.Stime.Nano()-a.Utime.Nano()-a.Stime.Nano()) * time.Nanosecond
}
