package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/surgekit/surge/examples/internal/exampleutil"
)

// TestBrowserPage drives the page in headless Chromium: the state renders, a
// click bids the minimum and shows "accepted", a bid placed by someone else over
// the API arrives live over SSE (no reload), a too-low bid shows the minimum, and
// when the auction ends the page shows the winner and disables the button.
func TestBrowserPage(t *testing.T) {
	exe := exampleutil.ChromiumPath(t)
	e := newTestEnv(t, Config{SnipeWindow: 100 * time.Millisecond}, nil)
	bg := context.Background()
	a := e.create(t, CreateRequest{Title: "Headless gavel", StartPrice: 40, Increment: 5, DurationMs: 6000})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(bg, opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 40*time.Second)
	defer cancelT()

	js := func(expr string) bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return ok
	}
	waitJS := func(expr string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !js(expr) {
			if time.Now().After(deadline) {
				dom, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
				t.Fatalf("timed out waiting for %s; page: %s", expr, dom)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	text := func(id string) string { return `document.getElementById('` + id + `').textContent` }

	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/?auction="+a.ID+"&user=carol")); err != nil {
		t.Fatal(err)
	}
	waitJS(text("title") + ` === 'Headless gavel'`)
	waitJS(text("live") + ` === 'connected'`)
	waitJS(text("price") + ` === '40' && ` + text("min") + ` === '40' && document.getElementById('amount').value === '40'`)

	// Click: bids the pre-filled minimum.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("bid"))); err != nil {
		t.Fatal(err)
	}
	waitJS(text("result") + `.startsWith('accepted at 40')`)
	waitJS(text("leader") + ` === 'carol' && ` + text("min") + ` === '45'`)

	// Someone else outbids over the API: the page learns it over SSE.
	r, err := e.svc.Bid(bg, BidRequest{AuctionID: a.ID, BidID: "d1", UserID: "dave", Amount: 60})
	if err != nil || r.Result != ResultAccepted {
		t.Fatalf("dave: %+v %v", r, err)
	}
	waitJS(text("price") + ` === '60' && ` + text("leader") + ` === 'dave' && ` + text("count") + ` === '2'`)

	// A stale amount typed by hand is refused with the minimum.
	if !js(`(() => { const a = document.getElementById('amount'); a.value = '50';
		a.dispatchEvent(new Event('input')); document.getElementById('bid').click(); return true })()`) {
		t.Fatal("typing failed")
	}
	waitJS(text("result") + ` === 'too_low, min bid 65'`)

	// The end: the closer records dave, the page shows it and disables bidding.
	waitJS(text("status") + ` === 'closed — winner: dave'`)
	if !js(`document.getElementById('bid').disabled`) {
		t.Fatal("bid button enabled after the close")
	}
	row, _ := e.store.GetAuction(bg, a.ID)
	if !row.Closed || row.Winner != "dave" {
		t.Fatalf("SQL %+v", row)
	}
}
