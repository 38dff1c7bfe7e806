package shorturl

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// ErrOutOfDomain is returned when a value is outside a Permutation's domain.
var ErrOutOfDomain = errors.New("shorturl: value outside the permutation domain")

// ErrBadKey is returned by NewPermutation for an empty key or a width outside 1..10.
var ErrBadKey = errors.New("shorturl: permutation needs a non-empty key and width 1..10")

const feistelRounds = 6

// Permutation is a keyed bijection of [0, 62^width) onto itself: a balanced
// Feistel network over the smallest even number of bits that covers the domain,
// with cycle walking to stay inside it. Because it is a bijection, distinct IDs
// always give distinct codes — uniqueness comes from the allocator, the
// permutation only hides the order. It is not a cryptographic cipher: it stops
// enumeration and guessing the next code, not an attacker who collects many
// (id, code) pairs.
type Permutation struct {
	width  int
	domain uint64 // 62^width
	half   uint   // bits per Feistel half
	mask   uint64 // (1<<half)-1
	keys   [feistelRounds]uint64
	mults  [feistelRounds]uint64 // odd multipliers
}

// NewPermutation derives round keys from key and returns the permutation of
// fixed-width codes of width base62 characters (1..10; 6 gives 56.8e9 codes).
func NewPermutation(key []byte, width int) (*Permutation, error) {
	if len(key) == 0 || width < 1 || width > MaxCodeLen-1 {
		return nil, ErrBadKey
	}
	p := &Permutation{width: width, domain: 1}
	for range width {
		p.domain *= 62
	}
	nbits := uint(bits.Len64(p.domain - 1))
	nbits += nbits & 1
	p.half = nbits / 2
	p.mask = 1<<p.half - 1
	// Round keys must be stable across processes and restarts (the same key must
	// give the same codes), so they come from a fixed mixer over the key bytes.
	var acc uint64 = 0x9E3779B97F4A7C15
	for i := 0; i < len(key); i += 8 {
		var w [8]byte
		copy(w[:], key[i:])
		acc = mix64(acc ^ binary.LittleEndian.Uint64(w[:]) ^ uint64(i))
	}
	acc = mix64(acc ^ uint64(len(key)))
	for r := range p.keys {
		acc = mix64(acc + 0x9E3779B97F4A7C15*uint64(r+1))
		p.keys[r] = acc
		acc = mix64(acc ^ 0xD6E8FEB86659FD93)
		p.mults[r] = acc | 1
	}
	return p, nil
}

// Width is the number of base62 characters of every code.
func (p *Permutation) Width() int { return p.width }

// Domain is 62^Width: the permutation maps [0, Domain) onto itself.
func (p *Permutation) Domain() uint64 { return p.domain }

// Permute maps x in [0, Domain) to its image.
func (p *Permutation) Permute(x uint64) (uint64, error) {
	if x >= p.domain {
		return 0, ErrOutOfDomain
	}
	// Cycle walking: the Feistel domain is at most 4x the target domain (an even
	// bit count rounds up by one bit, plus the power-of-two gap), so the expected
	// number of walks is small, and the walk ends because x itself is in the domain.
	for {
		x = p.encrypt(x)
		if x < p.domain {
			return x, nil
		}
	}
}

// Invert is the inverse of Permute.
func (p *Permutation) Invert(y uint64) (uint64, error) {
	if y >= p.domain {
		return 0, ErrOutOfDomain
	}
	for {
		y = p.decrypt(y)
		if y < p.domain {
			return y, nil
		}
	}
}

func (p *Permutation) encrypt(x uint64) uint64 {
	l, r := x>>p.half, x&p.mask
	for i := range feistelRounds {
		l, r = r, l^(p.round(i, r))
	}
	return l<<p.half | r
}

func (p *Permutation) decrypt(y uint64) uint64 {
	l, r := y>>p.half, y&p.mask
	for i := feistelRounds - 1; i >= 0; i-- {
		l, r = r^p.round(i, l), l
	}
	return l<<p.half | r
}

// round is the Feistel round function: the top half bits of (v^k)*m, a
// multiplicative hash in which every input bit reaches the output bits. One
// multiply per round keeps a code at memory speed; the network is a bijection
// whatever the round function is.
func (p *Permutation) round(i int, v uint64) uint64 {
	return ((v ^ p.keys[i]) * p.mults[i]) >> (64 - p.half)
}

// mix64 is the splitmix64 finalizer: a fast bijective avalanche of 64 bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
