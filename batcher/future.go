package batcher

import "context"

// outcome is the shared result of one batch. Every item of a batch reports the
// batch's error: one allocation per batch, none per item.
type outcome struct {
	done chan struct{} // made lazily, only when someone waits; closed when the batch finished
	errs []error       // per-item final errors, nil if all written; set before done is closed
}

func (o *outcome) errAt(i int) error {
	if o.errs == nil {
		return nil
	}
	return o.errs[i]
}

// Future reports the flush result of one item accepted by Submit. The zero Future
// is invalid: Wait returns ErrInvalid.
type Future struct {
	o *outcome
	i int // the item's index in its batch
}

// Wait blocks until the item's batch finished (flushed, or failed after retries and
// dead-lettering) and returns the item's final error: the batch's error, or the
// item's entry if the flush function returned ItemErrors, or ctx.Err() if ctx ends
// first (the item is still delivered; only the wait is abandoned).
func (f Future) Wait(ctx context.Context) error {
	if f.o == nil {
		return ErrInvalid
	}
	select {
	case <-f.o.done:
		return f.o.errAt(f.i)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the item's batch finished; then Err returns its error.
func (f Future) Done() <-chan struct{} {
	if f.o == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return f.o.done
}

// Err returns the item's final error once Done is closed (nil before).
func (f Future) Err() error {
	if f.o == nil {
		return ErrInvalid
	}
	select {
	case <-f.o.done:
		return f.o.errAt(f.i)
	default:
		return nil
	}
}
