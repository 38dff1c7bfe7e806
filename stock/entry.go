package stock

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func errorf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// entry is a parsed journal entry or outbox payload: kind|user|unix|sku=qty,sku=qty.
// The kind of a journal entry is a State; an outbox "revert" payload has kind V
// followed by the state that was reverted (VD, VR, VC, VL).
type entry struct {
	kind  string
	user  string
	time  time.Time
	items []Item
}

func parseEntry(s string) (entry, error) {
	parts := strings.SplitN(s, "|", 4)
	if len(parts) != 4 || parts[0] == "" {
		return entry{}, fmt.Errorf("stock: malformed journal entry %q", s)
	}
	e := entry{kind: parts[0], user: parts[1]}
	if sec, err := strconv.ParseInt(parts[2], 10, 64); err == nil {
		e.time = time.Unix(sec, 0)
	}
	if parts[3] != "" {
		for _, it := range strings.Split(parts[3], ",") {
			name, q, ok := strings.Cut(it, "=")
			n, err := strconv.ParseInt(q, 10, 64)
			if !ok || err != nil {
				return entry{}, fmt.Errorf("stock: malformed journal item %q", it)
			}
			e.items = append(e.items, Item{SKU: name, Qty: n})
		}
	}
	return e, nil
}

// resultFrom fills a Result from a journal entry.
func resultFrom(op, raw string) Result {
	r := Result{Op: op, Remaining: -1}
	if raw == "" {
		return r
	}
	if e, err := parseEntry(raw); err == nil {
		r.State = State(e.kind[0])
		r.User, r.Items, r.Time = e.user, e.items, e.time
	}
	return r
}
