package stock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// model is the op state machine the scripts must implement.
type model struct{ st State }

type want struct {
	st        State
	dup       bool
	err       error // sentinel the call must return (nil: none)
	succeeded bool  // for check-back
}

func (m *model) step(action string) want {
	s := m.st
	switch action {
	case "deduct", "reserve":
		if s == StateUnknown {
			m.st = StateDeducted
			if action == "reserve" {
				m.st = StateReserved
			}
			return want{st: m.st}
		}
		if s == StateReleased || s == StateReverted || s == StateTombstone {
			return want{st: s, dup: true, err: ErrReverted}
		}
		return want{st: s, dup: true}
	case "confirm":
		switch s {
		case StateUnknown:
			return want{err: ErrUnknownOp}
		case StateReserved:
			m.st = StateConfirmed
			return want{st: m.st}
		case StateConfirmed:
			return want{st: s, dup: true}
		case StateDeducted:
			return want{st: s, err: ErrBadState}
		}
		return want{st: s, err: ErrReverted}
	case "release":
		switch s {
		case StateUnknown:
			m.st = StateTombstone
			return want{st: m.st}
		case StateReserved:
			m.st = StateReleased
			return want{st: m.st}
		case StateReleased, StateTombstone:
			return want{st: s, dup: true}
		}
		return want{st: s, err: ErrBadState}
	case "revert":
		switch s {
		case StateUnknown:
			m.st = StateTombstone
			return want{st: m.st}
		case StateReverted, StateTombstone:
			return want{st: s, dup: true}
		}
		m.st = StateReverted
		return want{st: m.st}
	case "checkback":
		if s == StateUnknown {
			m.st = StateTombstone
		}
		return want{st: m.st, succeeded: m.st.Applied()}
	}
	panic(action)
}

func (m *model) held() (reserved, sold int64) {
	switch m.st {
	case StateReserved:
		return 1, 0
	case StateDeducted, StateConfirmed:
		return 0, 1
	}
	return 0, 0
}

var actions = []string{"deduct", "reserve", "confirm", "release", "revert", "checkback"}

func runAction(ctx context.Context, s *Stock, action, id string) (Result, CheckBackStatus, error) {
	switch action {
	case "deduct":
		r, err := s.Deduct(ctx, one(id, "u", "p", 1))
		return r, 0, err
	case "reserve":
		r, err := s.Reserve(ctx, one(id, "u", "p", 1))
		return r, 0, err
	case "confirm":
		r, err := s.Confirm(ctx, "p", id)
		return r, 0, err
	case "release":
		r, err := s.Release(ctx, "p", id)
		return r, 0, err
	case "revert":
		r, err := s.Revert(ctx, "p", id)
		return r, 0, err
	}
	st, err := s.CheckBack(ctx, "p", id)
	return Result{}, st, err
}

// TestRevertCheckBackOrderings runs every sequence of three calls on one op id (and
// random longer ones) against the model: deduct→revert, revert→late deduct,
// check-back→late deduct, duplicates at every step, and checks results and counters.
func TestRevertCheckBackOrderings(t *testing.T) {
	ctx := context.Background()
	s, _ := newStock(t)
	const total = 1000
	mustLoad(t, s, "p", total, SKUConfig{})
	var seqs [][]string
	for _, a := range actions {
		for _, b := range actions {
			for _, c := range actions {
				seqs = append(seqs, []string{a, b, c})
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		seq := make([]string, 6)
		for i := range seq {
			seq[i] = actions[rng.IntN(len(actions))]
		}
		seqs = append(seqs, seq)
	}
	var heldR, heldS int64 // units held by all earlier sequences
	for n, seq := range seqs {
		id := fmt.Sprintf("seq%d", n)
		var m model
		for step, action := range seq {
			w := m.step(action)
			r, cb, err := runAction(ctx, s, action, id)
			where := fmt.Sprintf("%v step %d (%s)", seq, step, action)
			if w.err == nil && err != nil || w.err != nil && !errors.Is(err, w.err) {
				t.Fatalf("%s: err %v, want %v", where, err, w.err)
			}
			if action == "checkback" {
				if (cb == Succeeded) != w.succeeded {
					t.Fatalf("%s: check-back %v, want succeeded=%v", where, cb, w.succeeded)
				}
				continue
			}
			if w.st != StateUnknown && r.State != w.st || r.Duplicate != w.dup {
				t.Fatalf("%s: got %v dup=%v, want %v dup=%v", where, r.State, r.Duplicate, w.st, w.dup)
			}
		}
		rs, ss := m.held()
		heldR, heldS = heldR+rs, heldS+ss
		if n%37 == 0 || n == len(seqs)-1 {
			want := Levels{Available: total - heldR - heldS, Reserved: heldR, Sold: heldS, Total: total}
			if l := levels(t, s, "p"); l != want {
				t.Fatalf("after %d sequences: %+v, want %+v", n+1, l, want)
			}
		}
	}
	mustReconcile(t, s, "p")
}
