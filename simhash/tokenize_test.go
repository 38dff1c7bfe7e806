package simhash

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTokens(t *testing.T) {
	tk, _ := NewTokenizer(2)
	cases := map[string][]string{
		"":              nil,
		"  ,.!? ":       nil,
		"Hello, World!": {"hello", "world"},
		"ＨＥＬＬＯ　ｗｏｒｌｄ１２":             {"hello", "world12"},
		"我们是中国人":                    {"我们", "们是", "是中", "中国", "国人"},
		"中":                         {"中"},
		"中文abc日本":                   {"中文", "abc", "日本"},
		"café Straße ÉCOLE":         {"café", "straße", "école"},
		"日本語のテキスト":                  {"日本", "本語", "語の", "のテ", "テキ", "キス", "スト"},
		"한국어 텍스트":                   {"한국", "국어", "텍스", "스트"},
		"e-mail user_name 3.14":     {"e", "mail", "user_name", "3", "14"},
		"Москва ПРИВЕТ":             {"москва", "привет"},
		"北京，上海。":                    {"北京", "上海"},
		"x\u0301y":                  {"x\u0301y"}, // combining mark stays in the word
		"𠀀𠀁":                        {"𠀀𠀁"},       // Han extension B
		"\xff\xfe broken \xc3 utf8": {"broken", "utf8"},
	}
	for in, want := range cases {
		if got := tk.Tokens(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Tokens(%q) = %q, want %q", in, got, want)
		}
	}
	tk1, _ := NewTokenizer(1)
	if got := tk1.Tokens("我们 中"); !reflect.DeepEqual(got, []string{"我", "们", "中"}) {
		t.Errorf("unigrams: %q", got)
	}
	tk3, _ := NewTokenizer(3)
	if got := tk3.Tokens("我们是中 中国"); !reflect.DeepEqual(got, []string{"我们是", "们是中", "中国"}) {
		t.Errorf("trigrams: %q", got)
	}
	for _, bad := range []int{0, 9} {
		if _, err := NewTokenizer(bad); err == nil {
			t.Errorf("gram %d accepted", bad)
		}
	}
}

// FuzzTokenizer: never panics; tokens are non-empty valid UTF-8 (or the
// replacement-free bytes of the input), contain no spaces or ASCII
// punctuation, are lower case ASCII, and CJK n-grams have at most gram runes.
func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{"Hello, World", "我们是中国人", "ＡＢＣ　中文", "x\u0301", "\xff中\xfe", "a中b国c", "한국어"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, g uint8) {
		gram := int(g%8) + 1
		tk, err := NewTokenizer(gram)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tk.Tokens(s) {
			if tok == "" || !utf8.ValidString(tok) {
				t.Fatalf("bad token %q from %q", tok, s)
			}
			if strings.ContainsAny(tok, " \t\n,.!?;:'\"()[]{}<>ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				t.Fatalf("token %q from %q has a separator or upper case", tok, s)
			}
			r, _ := utf8.DecodeRuneInString(tok)
			if isCJK(r) && utf8.RuneCountInString(tok) > gram {
				t.Fatalf("CJK token %q longer than %d", tok, gram)
			}
		}
		h, _ := New(WithCJKGram(gram))
		if fp := h.Fingerprint(s); (fp == Empty) != (len(tk.Tokens(s)) == 0) {
			t.Fatalf("Empty iff no tokens broken for %q: %x", s, fp)
		}
	})
}
