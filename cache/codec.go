package cache

import (
	"encoding/json"
	"fmt"
)

// Codec turns values into bytes and back.
type Codec[T any] interface {
	Marshal(v T) ([]byte, error)
	Unmarshal(data []byte, v *T) error
}

// JSON is the default codec.
type JSON[T any] struct{}

// Marshal encodes v as JSON.
func (JSON[T]) Marshal(v T) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into v.
func (JSON[T]) Unmarshal(data []byte, v *T) error { return json.Unmarshal(data, v) }

// Stored values are framed so that a not-found placeholder can never collide
// with a real value whatever the codec emits: a real value is 0x01 followed by
// the codec's bytes, the placeholder is exactly notFoundFrame (first byte 0x00).
const (
	valueTag      = 0x01
	notFoundFrame = "\x00surge:not-found"
)

func frame(payload []byte) []byte {
	b := make([]byte, 0, len(payload)+1)
	b = append(b, valueTag)
	return append(b, payload...)
}

// unframe returns the payload of a stored value, or notFound=true for the
// placeholder, or ErrCorrupt for anything else.
func unframe(stored string) (payload string, notFound bool, err error) {
	if stored == notFoundFrame {
		return "", true, nil
	}
	if len(stored) == 0 || stored[0] != valueTag {
		return "", false, fmt.Errorf("%w: unknown frame", ErrCorrupt)
	}
	return stored[1:], false, nil
}
