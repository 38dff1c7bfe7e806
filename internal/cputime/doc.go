// Package cputime measures the CPU time of the calling OS thread, so benchmarks can
// report per-core rates that do not depend on how busy the shared machine is.
package cputime
