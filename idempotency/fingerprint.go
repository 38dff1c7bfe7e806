package idempotency

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Fingerprint hashes the parts of a request that must be equal for a duplicate to
// count as the same request (e.g. method, path, body). Each part is
// length-prefixed, so ("ab","c") and ("a","bc") differ. The result is 64 hex chars.
func Fingerprint(parts ...[]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
