package batcher

import (
	"errors"
	"fmt"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrClosed is returned by Add, TryAdd, Submit, AddMany and Flush once Close has
	// been called. Items accepted before Close are still delivered.
	ErrClosed = errors.New("batcher: closed")
	// ErrFull is returned by TryAdd when the item's shard already holds its queue
	// capacity of accepted, unfinished items.
	ErrFull = errors.New("batcher: queue full")
	// ErrInvalid wraps every configuration error returned by New.
	ErrInvalid = errors.New("batcher: invalid configuration")
	// ErrPanic is wrapped by *PanicError, the error a batch gets when the flush
	// function panicked while handling it.
	ErrPanic = errors.New("batcher: flush panicked")
	// ErrNegativeSize is returned by Add when the size function reports a negative
	// size for the item (the item is refused, nothing else happens).
	ErrNegativeSize = errors.New("batcher: negative item size")
)

// PanicError is the error of a batch whose flush function panicked. The panic is
// recovered inside the shard's goroutine so one bad batch cannot take the process
// down; the batch is treated like any failed batch (retried if retries are
// configured, then dead-lettered).
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the panicking goroutine
}

func (e *PanicError) Error() string { return fmt.Sprintf("batcher: flush panicked: %v", e.Value) }

// Unwrap makes errors.Is(err, ErrPanic) true.
func (e *PanicError) Unwrap() error { return ErrPanic }

// permanentError marks an error that must not be retried.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the batcher does not retry the batch: a flush
// function returns batcher.Permanent(err) for failures that retrying cannot fix
// (a malformed record, a rejected schema). errors.Is/As still see err.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// ItemErrors lets a flush function report per-item results: ItemErrors[i] is the
// error of items[i], nil for an item that was written. Only the failed items are
// retried (Permanent entries are not) and dead-lettered, and each item's Future
// reports its own entry. An ItemErrors whose length differs from the batch's is
// treated as a failure of the whole batch. errors.Is/As look into the entries.
type ItemErrors []error

func (e ItemErrors) Error() string {
	n := 0
	var first error
	for _, err := range e {
		if err != nil {
			if n == 0 {
				first = err
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Sprintf("batcher: 0 of %d items failed", len(e))
	}
	return fmt.Sprintf("batcher: %d of %d items failed, first: %v", n, len(e), first)
}

// Unwrap returns the non-nil entries, for errors.Is and errors.As.
func (e ItemErrors) Unwrap() []error {
	out := make([]error, 0, len(e))
	for _, err := range e {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
