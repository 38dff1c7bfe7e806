package idempotency

import (
	"errors"
	"fmt"
)

// Outcome errors. Test them with errors.Is.
var (
	// ErrInProgress: another request with the same key holds a live lease and did not
	// finish within the configured wait. HTTP: 409 Conflict.
	ErrInProgress = errors.New("idempotency: a request with this key is in progress")
	// ErrMismatch: the key was already used with a different fingerprint (payload).
	// HTTP: 422 Unprocessable Content.
	ErrMismatch = errors.New("idempotency: key reused with a different request fingerprint")
	// ErrLeaseLost: this attempt's lease lapsed (no heartbeat reached Redis in time)
	// or a successor took the key over, so its outcome was not stored.
	ErrLeaseLost = errors.New("idempotency: lease lost before the outcome was stored")
	// ErrStoredFailure marks the replay of a failure that an earlier attempt stored
	// (see Permanent). The error is a *StoredFailure carrying the original message.
	ErrStoredFailure = errors.New("idempotency: replay of a stored failure")
	// ErrTokenUnknown: a pre-order token that was never issued for this owner, or
	// whose lifetime ran out before it was redeemed.
	ErrTokenUnknown = errors.New("idempotency: unknown or expired pre-order token")
	// ErrResultTooLarge: the result exceeds WithMaxResultBytes; it was returned to
	// this caller but not stored, and the key was released.
	ErrResultTooLarge = errors.New("idempotency: result too large to store")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("idempotency: store closed")
)

// ErrInvalidInput is matched (errors.Is) by every bad-input error below. Bad input
// is reported before any I/O.
var ErrInvalidInput = errors.New("idempotency: invalid input")

// Bad-input errors; each also matches ErrInvalidInput.
var (
	ErrEmptyKey           error = &inputError{"key is empty"}
	ErrKeyTooLong         error = &inputError{"key is longer than the limit"}
	ErrScopeTooLong       error = &inputError{"scope is longer than the limit"}
	ErrMissingFingerprint error = &inputError{"fingerprint is empty"}
	ErrFingerprintTooLong error = &inputError{"fingerprint is longer than 512 bytes"}
	ErrNilFunc            error = &inputError{"function is nil"}
	ErrBadKeyHeader       error = &inputError{"Idempotency-Key header is not a valid structured-field string"}
	ErrBadOption          error = &inputError{"option value out of range"}
)

type inputError struct{ msg string }

func (e *inputError) Error() string        { return "idempotency: " + e.msg }
func (e *inputError) Is(target error) bool { return target == ErrInvalidInput }

// StoredFailure is returned when Do replays a failure that an earlier attempt stored
// because it was marked Permanent. Message is that error's text.
type StoredFailure struct{ Message string }

func (e *StoredFailure) Error() string {
	return "idempotency: stored failure replayed: " + e.Message
}

// Is makes errors.Is(err, ErrStoredFailure) true.
func (e *StoredFailure) Is(target error) bool { return target == ErrStoredFailure }

// permanentError marks a deterministic failure: repeating the request would fail
// the same way, so the failure is stored and replayed like a success.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a deterministic failure (e.g. "insufficient funds", "sold
// out"): with the default policy it is stored and every later duplicate gets it
// back as a *StoredFailure instead of running again. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Decision says what happens to a key after its function failed.
type Decision int

const (
	// Release deletes the claim: the next duplicate runs the function again. The
	// default for every error not marked Permanent (timeouts, Redis or database
	// unavailable, a cancelled context), because nothing durable may have happened.
	Release Decision = iota
	// Keep stores the failure: later duplicates get it replayed.
	Keep
)

func (d Decision) String() string {
	if d == Keep {
		return "keep"
	}
	return "release"
}

// DefaultPolicy stores failures marked Permanent and releases every other error.
func DefaultPolicy(err error) Decision {
	if IsPermanent(err) {
		return Keep
	}
	return Release
}

func badOption(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadOption}, a...)...)
}
