package simhash

import (
	"unicode"
	"unicode/utf8"
)

// Tokenizer splits text into normalized tokens: words for scripts that separate
// words with spaces, overlapping character n-grams (bigrams by default) for
// CJK (Han, Hiragana, Katakana, Hangul), where there are no spaces to split on.
// Normalization folds case (unicode.ToLower) and width (full-width ASCII such
// as "ＡＢＣ１" becomes "abc1", the ideographic space is a space). Punctuation,
// symbols and spaces separate tokens and are dropped. The zero value is not
// usable; use NewTokenizer.
type Tokenizer struct {
	gram int
}

// NewTokenizer returns a tokenizer that emits CJK n-grams of cjkGram
// characters (1..8; 2 is the usual choice for Chinese).
func NewTokenizer(cjkGram int) (*Tokenizer, error) {
	if cjkGram < 1 || cjkGram > 8 {
		return nil, ErrConfig
	}
	return &Tokenizer{gram: cjkGram}, nil
}

// Tokens returns the tokens of text as strings (for inspection and tests; the
// fingerprint path does not allocate them).
func (t *Tokenizer) Tokens(text string) []string {
	var out []string
	t.scan(text, func(tok []byte, _ bool) { out = append(out, string(tok)) })
	return out
}

// isCJK reports whether r is written without spaces between words. Common
// ranges are checked first so that Chinese text rarely reaches unicode.Is.
func isCJK(r rune) bool {
	switch {
	case r < 0x2E80:
		return false
	case fastCJK(r):
		return true
	case r >= 0x3000 && r <= 0x303F: // CJK symbols and punctuation: mostly not letters
		return r == 0x3005 || r == 0x3007 || r >= 0x3021 && r <= 0x3029 || r >= 0x3038 && r <= 0x303B
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// fastCJK covers the common CJK blocks, which have no case or width variants,
// so a rune in them needs no folding either.
func fastCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || // Han
		r >= 0x3040 && r <= 0x30FF || // Hiragana, Katakana
		r >= 0xAC00 && r <= 0xD7AF || // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF || // Han compatibility
		r >= 0x20000 && r <= 0x3FFFF // Han extensions B..
}

// fold applies width and case folding to one rune.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		r -= 0xFEE0
	case r == 0x3000: // ideographic space
		return ' '
	}
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// scan calls emit with each normalized token and whether it is a CJK n-gram.
// The slice is reused: emit must not keep it.
func (t *Tokenizer) scan(text string, emit func(tok []byte, cjk bool)) {
	var word []byte
	var wbuf [64]byte
	word = wbuf[:0]
	// ring of the byte offsets of the last gram CJK runes inside cjk.
	var cjk []byte
	var cbuf [64]byte
	cjk = cbuf[:0]
	var starts [9]int // starts[i]: offset in cjk of the i-th rune of the current run window
	run := 0          // CJK runes in the current run
	flushWord := func() {
		if len(word) > 0 {
			emit(word, false)
			word = word[:0]
		}
	}
	flushCJK := func() {
		if run > 0 && run < t.gram {
			emit(cjk, true) // a run shorter than the gram is one token
		}
		run = 0
		cjk = cjk[:0]
	}
	for i := 0; i < len(text); {
		c := text[i]
		var r rune
		if c < utf8.RuneSelf {
			r = rune(c)
			i++
			// ASCII fast path: no CJK, simple folding.
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
				if run > 0 {
					flushCJK()
				}
				word = append(word, c)
			case 'A' <= c && c <= 'Z':
				if run > 0 {
					flushCJK()
				}
				word = append(word, c+('a'-'A'))
			default:
				flushWord()
				flushCJK()
			}
			continue
		}
		var size int
		r, size = utf8.DecodeRuneInString(text[i:])
		i += size
		cjkRune := fastCJK(r)
		if !cjkRune {
			r = fold(r)
			cjkRune = isCJK(r)
		}
		switch {
		case cjkRune:
			flushWord()
			if run == t.gram {
				// slide the window by one rune
				drop := len(cjk) // gram 1: the whole previous rune
				if t.gram > 1 {
					drop = starts[1]
				}
				copy(cjk, cjk[drop:])
				cjk = cjk[:len(cjk)-drop]
				for j := 1; j < t.gram; j++ {
					starts[j-1] = starts[j] - drop
				}
				run--
			}
			starts[run] = len(cjk)
			cjk = utf8.AppendRune(cjk, r)
			run++
			if run == t.gram {
				emit(cjk, true)
			}
		case isWordRune(r):
			if run > 0 {
				flushCJK()
			}
			word = utf8.AppendRune(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
}
