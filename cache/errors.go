package cache

import "errors"

var (
	// ErrNotFound is returned by Get when the source has no value for the key:
	// the loader said so (it returned an error wrapping ErrNotFound), a cached
	// not-found placeholder said so, or the Bloom filter proved the key absent.
	// Loaders report absence by returning ErrNotFound (or wrapping it).
	ErrNotFound = errors.New("cache: not found")

	// ErrInvalidKey is returned, before any I/O, for an empty key, a key longer
	// than MaxKeyLen, or a key containing '{' or '}' (they would change the
	// Redis Cluster hash tag that keeps an entry's keys in one slot).
	ErrInvalidKey = errors.New("cache: invalid key")

	// ErrInvalidOption is returned by New and the other constructors for an
	// option value that is out of range.
	ErrInvalidOption = errors.New("cache: invalid option")

	// ErrCorrupt is returned when a stored value does not carry surge's frame
	// or its payload does not decode with the codec.
	ErrCorrupt = errors.New("cache: corrupt cached value")

	// ErrLoaderPanic is returned to every waiter when the loader panicked.
	ErrLoaderPanic = errors.New("cache: loader panicked")

	// ErrNoLocker is returned by WriteThrough when the cache was built without
	// WithLocker.
	ErrNoLocker = errors.New("cache: write-through needs WithLocker")

	// ErrLockLost is returned by WriteThrough when the lock's context ended
	// (expired or lost) before the write finished; the cache entry has been
	// invalidated so no stale value remains from this writer.
	ErrLockLost = errors.New("cache: write-through lock lost")

	// ErrFenced is returned by WriteThrough when a writer with a newer
	// fencing token already rebuilt the entry; this writer's rebuild was refused.
	ErrFenced = errors.New("cache: rebuild refused by a newer fencing token")

	// ErrClosed is returned by a DeleteWorker that was already closed.
	ErrClosed = errors.New("cache: closed")
)
