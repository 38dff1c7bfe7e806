package stock

import (
	"context"
	"fmt"
	"sort"
)

// Levels are the counters of one SKU. Total is every unit ever loaded or restocked;
// Available + Reserved + Sold == Total always holds. Available includes the safety stock.
type Levels struct {
	Available, Reserved, Sold, Total int64
}

// Levels reads the counters of sku.
func (s *Stock) Levels(ctx context.Context, sku string) (Levels, error) {
	g, err := s.groupOf(sku)
	if err != nil {
		return Levels{}, err
	}
	if ctx == nil {
		return Levels{}, errorf("nil context")
	}
	v, err := s.rdb.HMGet(ctx, s.skuKey(g, sku), "avail", "reserved", "sold", "total").Result()
	if err != nil {
		return Levels{}, err
	}
	if v[0] == nil {
		return Levels{}, fmt.Errorf("%w: %q", ErrUnknownSKU, sku)
	}
	return Levels{Available: num(v, 0), Reserved: num(v, 1), Sold: num(v, 2), Total: num(v, 3)}, nil
}

// SKUDrift compares one SKU's counters with the totals replayed from the outbox.
type SKUDrift struct {
	SKU      string
	Counters Levels // what the counters say
	Replayed Levels // what the outbox says they must be
}

// Drift reports whether counters and outbox disagree, or the counters do not add up.
func (d SKUDrift) Drift() bool {
	c := d.Counters
	return c != d.Replayed || c.Available+c.Reserved+c.Sold != c.Total
}

// Report is the result of Reconcile.
type Report struct {
	Group  string
	Events int        // outbox events replayed
	Ops    int        // distinct op ids in the outbox
	SKUs   []SKUDrift // every SKU of the group, by name
	// JournalMismatch lists op ids whose live journal state disagrees with their last
	// outbox event, or that the journal shows applied but the outbox never recorded.
	JournalMismatch []string
}

// OK reports whether nothing drifted.
func (r Report) OK() bool {
	for _, d := range r.SKUs {
		if d.Drift() {
			return false
		}
	}
	return len(r.JournalMismatch) == 0
}

// Reconcile checks the counters of every SKU of group against the totals replayed
// from the group's outbox, and the live journal against the outbox, at one instant
// (an atomic snapshot, then the stream read up to the snapshot's last id). It reads
// the whole outbox and live journal of the group: run it off-peak or per group.
func (s *Stock) Reconcile(ctx context.Context, group string) (Report, error) {
	if err := validName("group", group, false); err != nil {
		return Report{}, err
	}
	if ctx == nil {
		return Report{}, errorf("nil context")
	}
	keys := []string{s.journalKey(group), s.outboxKey(group), s.skusKey(group), s.base(group)}
	res, err := s.snapshot.Run(ctx, s.rdb, keys, s.ttl).Slice()
	if err != nil {
		return Report{}, err
	}
	if len(res) != 4 {
		return Report{}, fmt.Errorf("stock: snapshot replied %d values", len(res))
	}
	last := str(res, 0)
	rep := Report{Group: group}
	replayed := map[string]*Levels{}
	lv, _ := res[1].([]any)
	for i := 0; i+4 < len(lv); i += 5 {
		name := str(lv, i)
		rep.SKUs = append(rep.SKUs, SKUDrift{SKU: name, Counters: Levels{
			Available: num(lv, i+1), Reserved: num(lv, i+2), Sold: num(lv, i+3), Total: num(lv, i+4)}})
		replayed[name] = &Levels{}
	}
	final := map[string]State{} // op id → state after its last outbox event
	if last != "" {
		start := "-"
		for {
			msgs, err := s.rdb.XRangeN(ctx, s.outboxKey(group), start, last, 1000).Result()
			if err != nil {
				return Report{}, err
			}
			for _, m := range msgs {
				for op, v := range m.Values {
					e, err := parseEntry(fmt.Sprint(v))
					if err != nil {
						return Report{}, err
					}
					rep.Events++
					final[op] = State(e.kind[0])
					for _, it := range e.items {
						l := replayed[it.SKU]
						if l == nil {
							l = &Levels{}
							replayed[it.SKU] = l
						}
						replay(l, e.kind, it.Qty)
					}
				}
			}
			if len(msgs) < 1000 {
				break
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
	}
	rep.Ops = len(final)
	for i := range rep.SKUs {
		rep.SKUs[i].Replayed = *replayed[rep.SKUs[i].SKU]
		delete(replayed, rep.SKUs[i].SKU)
	}
	for name, l := range replayed { // in the outbox but not in the SKU set
		rep.SKUs = append(rep.SKUs, SKUDrift{SKU: name, Replayed: *l})
	}
	sort.Slice(rep.SKUs, func(i, j int) bool { return rep.SKUs[i].SKU < rep.SKUs[j].SKU })

	journal := map[string]State{}
	for _, gen := range []int{3, 2} { // previous generation first, current overrides
		kv, _ := res[gen].([]any)
		for i := 0; i+1 < len(kv); i += 2 {
			if e := str(kv, i+1); e != "" {
				journal[str(kv, i)] = State(e[0])
			}
		}
	}
	for op, st := range journal {
		want, inOutbox := final[op]
		switch {
		case inOutbox && want != st:
			rep.JournalMismatch = append(rep.JournalMismatch, op)
		case !inOutbox && st != StateTombstone && st != StatePassed:
			rep.JournalMismatch = append(rep.JournalMismatch, op)
		}
	}
	sort.Strings(rep.JournalMismatch)
	return rep, nil
}

// replay applies one outbox event to replayed levels.
func replay(l *Levels, kind string, q int64) {
	switch kind {
	case "I":
		l.Available += q
		l.Total += q
	case "O":
		l.Available -= q
		l.Total -= q
	case "D":
		l.Available -= q
		l.Sold += q
	case "R":
		l.Available -= q
		l.Reserved += q
	case "C":
		l.Reserved -= q
		l.Sold += q
	case "L", "VR":
		l.Reserved -= q
		l.Available += q
	case "VD", "VC":
		l.Sold -= q
		l.Available += q
	}
}
