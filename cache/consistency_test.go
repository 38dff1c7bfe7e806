package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgekit/surge/cache/internal/harness"
	"github.com/surgekit/surge/internal/redistest"
)

// The consistency harness on every tier: the baseline must show staleness
// (proving the harness can see it), lease and write-through must show none.
// cmd/consistency runs the same harness at ≥1M reads for the README table.
func TestConsistencyHarness(t *testing.T) {
	for _, s := range harness.Strategies {
		t.Run(s, func(t *testing.T) {
			t.Parallel() // the runs mostly sleep in injected delays
			rdb := redistest.Client(t)
			var res harness.Result
			for round := 0; round < 3; round++ {
				cfg := harness.Config{
					Strategy:      s,
					Client:        rdb,
					Prefix:        redistest.Prefix(t) + string(rune('a'+round)) + ":",
					Locker:        &luaLocker{RDB: rdb, Prefix: redistest.Prefix(t)},
					Keys:          4,
					Readers:       16,
					Writers:       4,
					Reads:         3000,
					MaxLoadDelay:  2 * time.Millisecond,
					PauseEvery:    200,
					Pause:         10 * time.Millisecond,
					WriteInterval: 2 * time.Millisecond,
				}
				var err error
				if res, err = harness.Run(context.Background(), cfg); err != nil {
					t.Fatal(err)
				}
				t.Log(res)
				if s != "delete-after-update" || res.StaleReads > 0 {
					break
				}
			}
			switch s {
			case "delete-after-update":
				if res.StaleReads == 0 {
					t.Fatal("the baseline showed no stale read in 3 rounds: the harness cannot see the race")
				}
			case "lease", "write-through":
				if res.StaleReads != 0 || res.Divergent != 0 {
					t.Fatalf("strong mode: %v", res)
				}
			}
		})
	}
}
