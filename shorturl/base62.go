package shorturl

import (
	"errors"
	"fmt"
)

// Alphabet is the fixed base62 alphabet: digits, upper case, lower case. Its
// order is ASCII order, so codes of equal length sort like the numbers they encode.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// MaxCodeLen is the length of the longest canonical code: 62^11 > 2^64 > 62^10.
const MaxCodeLen = 11

// Decoding errors. They wrap ErrInvalidCode, so errors.Is(err, ErrInvalidCode)
// catches every one of them.
var (
	ErrInvalidCode  = errors.New("shorturl: invalid code")
	ErrEmptyCode    = fmt.Errorf("%w: empty", ErrInvalidCode)
	ErrBadChar      = fmt.Errorf("%w: character outside the base62 alphabet", ErrInvalidCode)
	ErrOverflow     = fmt.Errorf("%w: value does not fit in 64 bits", ErrInvalidCode)
	ErrNonCanonical = fmt.Errorf("%w: leading zero", ErrInvalidCode)
	ErrWidth        = fmt.Errorf("%w: wrong width", ErrInvalidCode)
)

// decodeTable maps a byte to its digit value, or 0xFF when it is not in Alphabet.
// It is a constant-sized array built at compile time from a literal, so there is
// no init() and decoding is one table lookup per byte.
var decodeTable = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = byte(i)
	}
	return t
}()

// Encode returns the canonical (shortest, no leading zero) base62 form of n.
// Encode(0) is "0".
func Encode(n uint64) string {
	var buf [MaxCodeLen]byte
	return string(appendBase62(buf[:0], n, 0))
}

// AppendEncode appends the canonical base62 form of n to dst.
func AppendEncode(dst []byte, n uint64) []byte { return appendBase62(dst, n, 0) }

// EncodeFixed returns n in exactly width characters, left-padded with '0'. It
// fails with ErrWidth when n needs more than width characters or width is not
// in 1..MaxCodeLen.
func EncodeFixed(n uint64, width int) (string, error) {
	if width < 1 || width > MaxCodeLen {
		return "", ErrWidth
	}
	var buf [MaxCodeLen]byte
	out := appendBase62(buf[:0], n, width)
	if len(out) != width {
		return "", ErrWidth
	}
	return string(out), nil
}

func appendBase62(dst []byte, n uint64, width int) []byte {
	var tmp [MaxCodeLen]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = Alphabet[n%62]
		n /= 62
		if n == 0 {
			break
		}
	}
	for len(tmp)-i < width {
		i--
		tmp[i] = '0'
	}
	return append(dst, tmp[i:]...)
}

// Decode parses a canonical base62 code. It is strict: the empty string, a byte
// outside Alphabet, a leading '0' (other than "0" itself) and values above
// 2^64-1 are errors, so every uint64 has exactly one code and Decode(Encode(n))
// == n.
func Decode(s string) (uint64, error) {
	if len(s) > 1 && s[0] == '0' {
		if decodeTable[s[1]] == 0xFF {
			return 0, ErrBadChar
		}
		return 0, ErrNonCanonical
	}
	return decode(s)
}

// DecodeFixed parses a code written by EncodeFixed with the same width; leading
// zeros are part of the format there.
func DecodeFixed(s string, width int) (uint64, error) {
	if width < 1 || width > MaxCodeLen || len(s) != width {
		if len(s) == 0 {
			return 0, ErrEmptyCode
		}
		return 0, ErrWidth
	}
	return decode(s)
}

func decode(s string) (uint64, error) {
	if len(s) == 0 {
		return 0, ErrEmptyCode
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := decodeTable[s[i]]
		if d == 0xFF {
			return 0, ErrBadChar
		}
		if i >= MaxCodeLen-1 { // only the 11th digit can overflow
			if i >= MaxCodeLen || n > (^uint64(0)-uint64(d))/62 {
				return 0, ErrOverflow
			}
		}
		n = n*62 + uint64(d)
	}
	return n, nil
}
