package stock

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	maxIDLen   = 256
	maxNameLen = 128
	maxItems   = 64
	maxQty     = 1 << 50 // far below Lua's 2^53 exact-integer limit, with room for sums
	maxBatch   = 512     // ops per script call: bounded by Lua's unpack stack
)

func containsAny(s, chars string) bool { return strings.ContainsAny(s, chars) }

// validName checks a SKU, group or user name. They are written into journal entries
// (state|user|time|sku=qty,...) and key names, so the separators are reserved.
func validName(what, s string, allowEmpty bool) error {
	if s == "" {
		if allowEmpty {
			return nil
		}
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	if len(s) > maxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s longer than %d bytes or not UTF-8", ErrInvalid, what, maxNameLen)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("{}|,=", r) {
			return fmt.Errorf("%w: %s %q contains a space, control or one of {}|,=", ErrInvalid, what, s)
		}
	}
	return nil
}

func validOpID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%w: op id must be 1..%d bytes", ErrInvalid, maxIDLen)
	}
	return nil
}

func validQty(q int64, allowZero bool) error {
	if q < 0 || (q == 0 && !allowZero) || q > maxQty {
		return fmt.Errorf("%w: quantity %d", ErrInvalid, q)
	}
	return nil
}

// groupOf returns the validated group of a SKU.
func (s *Stock) groupOf(sku string) (string, error) {
	if err := validName("SKU", sku, false); err != nil {
		return "", err
	}
	g := s.cfg.groupOf(sku)
	if err := validName("group", g, false); err != nil {
		return "", err
	}
	return g, nil
}

// normalize validates an op and returns its group and its items merged per SKU in
// first-seen order (the same SKU twice in one op is one item of the summed quantity).
func (s *Stock) normalize(op Op) (string, []Item, error) {
	if err := validOpID(op.ID); err != nil {
		return "", nil, err
	}
	if err := validName("user", op.User, true); err != nil {
		return "", nil, err
	}
	if len(op.Items) == 0 || len(op.Items) > maxItems {
		return "", nil, fmt.Errorf("%w: an op needs 1..%d items", ErrInvalid, maxItems)
	}
	var group string
	items := make([]Item, 0, len(op.Items))
	for i, it := range op.Items {
		g, err := s.groupOf(it.SKU)
		if err != nil {
			return "", nil, err
		}
		if err := validQty(it.Qty, false); err != nil {
			return "", nil, err
		}
		if i == 0 {
			group = g
		} else if g != group {
			return "", nil, fmt.Errorf("%w: %w: %q is in %q, %q is in %q", ErrInvalid, ErrMixedGroups,
				op.Items[0].SKU, group, it.SKU, g)
		}
		merged := false
		for j := range items {
			if items[j].SKU == it.SKU {
				items[j].Qty += it.Qty
				if items[j].Qty > maxQty {
					return "", nil, fmt.Errorf("%w: quantity of %q too large", ErrInvalid, it.SKU)
				}
				merged = true
				break
			}
		}
		if !merged {
			items = append(items, it)
		}
	}
	return group, items, nil
}
