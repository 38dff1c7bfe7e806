package batcher

import "context"

// outcome is the shared result of one batch. Every item of a batch reports the
// batch's error: one allocation per batch, none per item.
type outcome struct {
	done chan struct{} // made lazily, only when someone waits; closed when the batch finished
	err  error         // written before done is closed
}

// Future reports the flush result of one item accepted by Submit. The zero Future
// is invalid: Wait returns ErrInvalid.
type Future struct{ o *outcome }

// Wait blocks until the item's batch finished (flushed, or failed after retries and
// dead-lettering) and returns the batch's final error, or ctx.Err() if ctx ends
// first (the item is still delivered; only the wait is abandoned).
func (f Future) Wait(ctx context.Context) error {
	if f.o == nil {
		return ErrInvalid
	}
	select {
	case <-f.o.done:
		return f.o.err
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

// Err returns the batch's final error once Done is closed (nil before).
func (f Future) Err() error {
	if f.o == nil {
		return ErrInvalid
	}
	select {
	case <-f.o.done:
		return f.o.err
	default:
		return nil
	}
}
