package lock

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test them with errors.Is; every error this package returns
// wraps at most a few of these plus the underlying cause.
var (
	// ErrNotObtained: the lock is held by someone else and the retry strategy,
	// the wait deadline or the context gave up. When the context ended the
	// error also matches ctx.Err().
	ErrNotObtained = errors.New("lock: not obtained")
	// ErrNoQuorum (Redlock): fewer than a majority of the masters answered, so
	// nobody can hold the lock; the node errors are wrapped.
	ErrNoQuorum = errors.New("lock: no quorum of masters reachable")
	// ErrNotHeld: Release, Refresh or TTL on a lock that this Lock no longer
	// owns (released, expired, taken over, or lost).
	ErrNotHeld = errors.New("lock: not held")
	// ErrLost is the cause of a lock context cancelled because the lock is gone
	// or could not be confirmed before it would expire.
	ErrLost = errors.New("lock: lost")
	// ErrMaxHold is the cause of a lock context cancelled because the maximum
	// hold time (WithMaxHold) is over.
	ErrMaxHold = errors.New("lock: maximum hold time reached")
	// ErrReleased is the cause of a lock context cancelled by Release.
	ErrReleased = errors.New("lock: released")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("lock: client closed")
	// ErrInvalidArgument is matched by every *ArgumentError.
	ErrInvalidArgument = errors.New("lock: invalid argument")
)

// ArgumentError reports bad input. It is returned before any I/O.
type ArgumentError struct {
	Arg    string // "key", "ttl", "prefix", "nodes", ...
	Reason string
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("lock: invalid %s: %s", e.Arg, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidArgument) true.
func (e *ArgumentError) Is(target error) bool { return target == ErrInvalidArgument }

func argErr(arg, format string, a ...any) error {
	return &ArgumentError{Arg: arg, Reason: fmt.Sprintf(format, a...)}
}
