package simhash

import (
	"errors"
	"math/bits"
)

// Fingerprint is a 64-bit simhash. Near-duplicate texts have fingerprints at a
// small Hamming distance.
type Fingerprint uint64

// Empty is the fingerprint of a text without features (empty, only spaces or
// punctuation). It is 0, a real text whose fingerprint would be 0 gets 1
// instead (one bit of distance, probability about 2^-64), and Near, the indexes
// and their queries treat Empty as matching nothing — not even itself — so
// empty documents never look like duplicates of each other or of real ones.
const Empty Fingerprint = 0

// Errors.
var (
	// ErrConfig: an invalid option.
	ErrConfig = errors.New("simhash: invalid configuration")
	// ErrEmpty: Empty was given to an index.
	ErrEmpty = errors.New("simhash: empty fingerprint")
	// ErrInvalidID: an index ID must be 1..512 bytes.
	ErrInvalidID = errors.New("simhash: invalid id")
)

// Distance is the Hamming distance between a and b (0..64).
func Distance(a, b Fingerprint) int { return bits.OnesCount64(uint64(a ^ b)) }

// Near reports whether a and b are within k bits and neither is Empty.
func Near(a, b Fingerprint, k int) bool {
	return a != Empty && b != Empty && Distance(a, b) <= k
}

// Accumulator sums weighted features into a fingerprint: for every bit, the
// weights of the features whose hash has that bit set, minus those that have it
// clear; the fingerprint bit is 1 where the sum is positive. Unit weights take
// a fast path that counts eight bits per add (SIMD within a register).
type Accumulator struct {
	lanes  [8]uint64 // byte counters: lane j byte b counts bit 8*b+j of unit features
	inLane int       // unit features in lanes since the last spill (< 256)
	units  int64     // unit features in total
	ones   [64]int64 // spilled unit counts of set bits
	w      [64]float64
	any    bool
}

// spread[b] has byte i set to bit i of b.
var spread = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			if b>>i&1 == 1 {
				t[b] |= 1 << (8 * i)
			}
		}
	}
	return t
}()

// AddUnit adds a feature of weight 1.
func (a *Accumulator) AddUnit(h uint64) {
	for j := range 8 {
		a.lanes[j] += spread[(h>>(8*j))&0xFF]
	}
	a.units++
	a.any = true
	if a.inLane++; a.inLane == 255 {
		a.spill()
	}
}

func (a *Accumulator) spill() {
	for j := range 8 {
		l := a.lanes[j]
		for b := range 8 {
			// lane j, byte b counts bit index 8*j + b of the hash.
			a.ones[8*j+b] += int64((l >> (8 * b)) & 0xFF)
		}
		a.lanes[j] = 0
	}
	a.inLane = 0
}

// Add adds a feature with any weight (zero or negative weights are allowed and
// count as given; NaN is ignored).
func (a *Accumulator) Add(h uint64, weight float64) {
	if weight != weight {
		return
	}
	if weight == 1 {
		a.AddUnit(h)
		return
	}
	a.any = true
	for i := range 64 {
		if h>>i&1 == 1 {
			a.w[i] += weight
		} else {
			a.w[i] -= weight
		}
	}
}

// Sum returns the fingerprint and resets the accumulator.
func (a *Accumulator) Sum() Fingerprint {
	if !a.any {
		return Empty
	}
	a.spill()
	var fp uint64
	for i := range 64 {
		// unit part: ones - (units - ones)
		v := a.w[i] + float64(2*a.ones[i]-a.units)
		if v > 0 {
			fp |= 1 << i
		}
	}
	*a = Accumulator{}
	if fp == uint64(Empty) {
		fp = 1
	}
	return Fingerprint(fp)
}
