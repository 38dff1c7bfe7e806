package stock

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzOpInput: any op accepted by validation must produce a journal entry that parses
// back to the same items; anything refused must be ErrInvalid, before any I/O.
func FuzzOpInput(f *testing.F) {
	f.Add("op-1", "alice", "sku", int64(1), "sku", int64(2))
	f.Add("", "", "", int64(0), "x", int64(-1))
	f.Add("o", "a|b", "s{t}", int64(1), "s,t", int64(1))
	f.Add("o", "用户", "商品=1", int64(1<<50), "商品", int64(1))
	rdb := deadClient()
	defer rdb.Close()
	s, err := New(rdb)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, user, sku1 string, q1 int64, sku2 string, q2 int64) {
		op := Op{ID: id, User: user, Items: []Item{{sku1, q1}, {sku2, q2}}}
		g, items, err := s.normalize(op)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal %v is not ErrInvalid", err)
			}
			return
		}
		if g != sku1 || len(items) == 0 {
			t.Fatalf("group %q items %v", g, items)
		}
		var parts []string
		for _, it := range items {
			parts = append(parts, it.SKU+"="+itoa(it.Qty))
		}
		e, err := parseEntry("D|" + user + "|1|" + strings.Join(parts, ","))
		if err != nil || e.user != user || len(e.items) != len(items) {
			t.Fatalf("entry round trip: %+v %v", e, err)
		}
		for i := range items {
			if e.items[i] != items[i] {
				t.Fatalf("item %d: %v != %v", i, e.items[i], items[i])
			}
		}
		// Valid input reaches I/O (the dead client), never ErrInvalid.
		if _, err := s.Deduct(context.Background(), op); !errors.Is(err, errNoIO) {
			t.Fatalf("valid op: %v", err)
		}
	})
}

// FuzzParseEntry: journal and outbox payloads never panic the parser.
func FuzzParseEntry(f *testing.F) {
	f.Add("D|u|123|a=1,b=2")
	f.Add("VD||0|")
	f.Add("|||")
	f.Add("T||1|")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEntry(s)
		if err == nil && e.kind == "" {
			t.Fatal("empty kind accepted")
		}
		_ = resultFrom("op", s)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
