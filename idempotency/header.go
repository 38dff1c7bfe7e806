package idempotency

import (
	"encoding/base64"
	"strings"
)

// HeaderName is the request header of the IETF draft "The Idempotency-Key HTTP
// Header Field" (draft-ietf-httpapi-idempotency-key-header).
const HeaderName = "Idempotency-Key"

// ParseKeyHeader parses one Idempotency-Key field value and returns the key.
//
// The draft defines the value as a Structured Field Item whose bare item is a
// String (RFC 8941 §3.3.3), e.g. `"8e03978e-40d5-43e8-bc93-6894a57f9324"`;
// parameters after it are parsed (so a malformed one is rejected) and ignored.
// Unless strict is set, a bare unquoted key made of visible ASCII other than
// `"`, `,`, `;` and `\` is also accepted, because many clients (and the Stripe
// convention the draft grew from) send keys unquoted.
//
// Errors: ErrEmptyKey for an empty key, ErrBadKeyHeader for anything malformed.
func ParseKeyHeader(v string, strict bool) (string, error) {
	p := sfParser{s: strings.TrimLeft(v, " \t")}
	p.s = strings.TrimRight(p.s, " \t")
	if p.s == "" {
		return "", ErrEmptyKey
	}
	if p.s[0] != '"' {
		if strict {
			return "", ErrBadKeyHeader
		}
		for i := 0; i < len(p.s); i++ {
			c := p.s[i]
			if c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\' {
				return "", ErrBadKeyHeader
			}
		}
		return p.s, nil
	}
	key, ok := p.str()
	if !ok || !p.params() || p.s != "" {
		return "", ErrBadKeyHeader
	}
	if key == "" {
		return "", ErrEmptyKey
	}
	return key, nil
}

// sfParser consumes a prefix of s at a time, following the parsing algorithms of
// RFC 8941 §4.2 for the pieces an Item can hold.
type sfParser struct{ s string }

// str parses an sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE.
func (p *sfParser) str() (string, bool) {
	if p.s == "" || p.s[0] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '\\':
			i++
			if i >= len(p.s) || (p.s[i] != '"' && p.s[i] != '\\') {
				return "", false
			}
			b.WriteByte(p.s[i])
		case c == '"':
			p.s = p.s[i+1:]
			return b.String(), true
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false // no closing quote
}

// params parses *( ";" *SP param-key [ "=" bare-item ] ).
func (p *sfParser) params() bool {
	for p.s != "" && p.s[0] == ';' {
		p.s = strings.TrimLeft(p.s[1:], " ")
		if p.s == "" || !(isLCAlpha(p.s[0]) || p.s[0] == '*') {
			return false
		}
		i := 1
		for i < len(p.s) && (isLCAlpha(p.s[i]) || isDigit(p.s[i]) || strings.IndexByte("_-.*", p.s[i]) >= 0) {
			i++
		}
		p.s = p.s[i:]
		if p.s != "" && p.s[0] == '=' {
			p.s = p.s[1:]
			if !p.bareItem() {
				return false
			}
		}
	}
	return true
}

// bareItem parses (and discards) an integer, decimal, string, token, byte
// sequence or boolean.
func (p *sfParser) bareItem() bool {
	if p.s == "" {
		return false
	}
	switch c := p.s[0]; {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '*' || isAlpha(c):
		i := 1
		for i < len(p.s) && (isTChar(p.s[i]) || p.s[i] == ':' || p.s[i] == '/') {
			i++
		}
		p.s = p.s[i:]
		return true
	case c == ':':
		end := strings.IndexByte(p.s[1:], ':')
		if end < 0 {
			return false
		}
		enc := p.s[1 : 1+end]
		for i := 0; i < len(enc); i++ {
			if !(isAlpha(enc[i]) || isDigit(enc[i]) || enc[i] == '+' || enc[i] == '/' || enc[i] == '=') {
				return false
			}
		}
		if _, err := base64.StdEncoding.DecodeString(enc); err != nil {
			return false
		}
		p.s = p.s[end+2:]
		return true
	case c == '?':
		if len(p.s) < 2 || (p.s[1] != '0' && p.s[1] != '1') {
			return false
		}
		p.s = p.s[2:]
		return true
	}
	return false
}

// number parses an sf-integer (up to 15 digits) or sf-decimal (up to 12 integer and
// 1-3 fraction digits).
func (p *sfParser) number() bool {
	i := 0
	if p.s[0] == '-' {
		i = 1
	}
	start, dot := i, -1
	for ; i < len(p.s); i++ {
		c := p.s[i]
		if isDigit(c) {
			continue
		}
		if c == '.' && dot < 0 {
			dot = i
			continue
		}
		break
	}
	if dot < 0 {
		if i == start || i-start > 15 {
			return false
		}
	} else if dot == start || dot-start > 12 || i-dot-1 < 1 || i-dot-1 > 3 {
		return false
	}
	p.s = p.s[i:]
	return true
}

func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }
func isTChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
