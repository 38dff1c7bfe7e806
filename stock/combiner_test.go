package stock

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestCombinerSmartBatching: an idle group sends a call at once, alone; under load
// calls are merged, never above the cap, and every op is answered on its own.
func TestCombinerSmartBatching(t *testing.T) {
	s, _ := newStock(t, WithCombiner(16, 10*time.Second))
	ctx := context.Background()
	mustLoad(t, s, "c", 10000, SKUConfig{})
	if _, err := s.Deduct(ctx, one("solo", "", "c", 1)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.ScriptCalls != 1 || st.BatchedOps != 1 {
		t.Fatalf("idle call was not sent alone at once: %+v", st)
	}
	const n = 800
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Deduct(ctx, one(fmt.Sprintf("o%d", i), "", "c", 1+int64(i%3)))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.MaxBatch > 16 || st.BatchedOps != n+1 || st.ScriptCalls >= n {
		t.Fatalf("stats %+v", st)
	}
	for i, r := range results {
		if r.Op != fmt.Sprintf("o%d", i) || len(r.Items) != 1 || r.Items[0].Qty != 1+int64(i%3) {
			t.Fatalf("op %d answered with %+v", i, r)
		}
	}
	_ = s.Close() // drains
	if _, err := s.Deduct(ctx, one("late", "", "c", 1)); err != ErrClosed {
		t.Fatalf("after close: %v", err)
	}
}
