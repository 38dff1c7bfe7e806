package idempotency

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeyHeader(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, want string }{
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{`  "a b"  `, "a b"},
		{`"q\"uote\\d"`, `q"uote\d`},
		{`"k";a=1;b;c=?0;d="x";e=tok/en:1;f=:aGk=:;g=-1.5;*h=12`, "k"},
		{`"k"; a=1`, "k"},
		{`8e03978e-40d5-43e8-bc93-6894a57f9324`, "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{`abc/def=`, "abc/def="},
	}
	for _, c := range ok {
		got, err := ParseKeyHeader(c.in, false)
		if err != nil || got != c.want {
			t.Errorf("ParseKeyHeader(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []struct {
		in     string
		strict bool
		want   error
	}{
		{``, false, ErrEmptyKey},
		{`   `, false, ErrEmptyKey},
		{`""`, false, ErrEmptyKey},
		{`"unterminated`, false, ErrBadKeyHeader},
		{`"bad\escape"`, false, ErrBadKeyHeader},
		{"\"tab\there\"", false, ErrBadKeyHeader},
		{"\"caf\xc3\xa9\"", false, ErrBadKeyHeader},
		{`"a" "b"`, false, ErrBadKeyHeader},
		{`"a", "b"`, false, ErrBadKeyHeader},
		{`"a";A=1`, false, ErrBadKeyHeader},
		{`"a";a=`, false, ErrBadKeyHeader},
		{`"a";a=1.2345`, false, ErrBadKeyHeader},
		{`"a";a=1234567890123456`, false, ErrBadKeyHeader},
		{`"a";a=:not base64:`, false, ErrBadKeyHeader},
		{`"a";a=?2`, false, ErrBadKeyHeader},
		{`bare`, true, ErrBadKeyHeader},
		{`a b`, false, ErrBadKeyHeader},
		{`a,b`, false, ErrBadKeyHeader},
		{`a;b`, false, ErrBadKeyHeader},
	}
	for _, c := range bad {
		got, err := ParseKeyHeader(c.in, c.strict)
		if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParseKeyHeader(%q, %v) = %q, %v; want %v", c.in, c.strict, got, err, c.want)
		}
	}
}

// serializeString is RFC 8941 §4.1.6 for printable ASCII.
func serializeString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func FuzzParseKeyHeader(f *testing.F) {
	for _, s := range []string{`"abc"`, `abc`, `"a\"b"`, `"k";a=1;b=?1;c=:aGk=:`, `"`, `""`, `"a";`, `"a";a=-`, ` "x" `, "\"\x7f\"", `"a";a=1.`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, err := ParseKeyHeader(in, false)
		strictKey, strictErr := ParseKeyHeader(in, true)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("untyped error %v", err)
			}
			if strictErr == nil {
				t.Fatalf("strict accepted %q that lenient refused", in)
			}
		} else {
			if key == "" {
				t.Fatalf("empty key accepted from %q", in)
			}
			for i := 0; i < len(key); i++ {
				if key[i] < 0x20 || key[i] > 0x7e {
					t.Fatalf("key %q from %q has byte %#x", key, in, key[i])
				}
			}
			if strictErr == nil && strictKey != key {
				t.Fatalf("strict %q vs lenient %q", strictKey, key)
			}
		}
		// Round trip: any printable key serialized as an sf-string (optionally with
		// parameters) parses back to itself in both modes.
		printable := in != ""
		for i := 0; i < len(in); i++ {
			if in[i] < 0x20 || in[i] > 0x7e {
				printable = false
			}
		}
		if printable {
			for _, suffix := range []string{"", ";a=1", ";p=\"x\";q"} {
				enc := serializeString(in) + suffix
				for _, strict := range []bool{false, true} {
					got, err := ParseKeyHeader(enc, strict)
					if err != nil || got != in {
						t.Fatalf("round trip of %q via %q (strict=%v): %q, %v", in, enc, strict, got, err)
					}
				}
			}
		}
	})
}
