package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/surgekit/surge/examples/internal/exampleutil"
)

// TestBrowserPage drives the page at / in headless Chromium: item, live stock and
// countdown render; the buy button greys out after one click, a second click sends
// nothing, the result shows the reserved order, and paying it works.
func TestBrowserPage(t *testing.T) {
	exe := exampleutil.ChromiumPath(t)
	e := newTestEnv(t, Config{})
	bg := context.Background()
	sl, _ := e.sale(t, CreateSaleRequest{ID: saleName(t), Item: "Headless hoodie", Stock: 3, PerUserLimit: 1, PayTimeoutMs: 60000})
	later, _ := e.sale(t, CreateSaleRequest{ID: saleName(t) + "-later", Item: "Tomorrow", Stock: 3, StartsInMs: 3_600_000})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(bg, opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 45*time.Second)
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

	// A sale in the future: countdown running, button disabled.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/?sale="+later.ID+"&user=browser-2")); err != nil {
		t.Fatal(err)
	}
	waitJS(`document.getElementById('item').textContent === 'Tomorrow'`)
	waitJS(`/^(59|60):\d\d$/.test(document.getElementById('countdown').textContent)`)
	if !js(`document.getElementById('buy').disabled`) {
		t.Fatal("buy button enabled before the start")
	}

	// A running sale.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/?sale="+sl.ID+"&user=browser-1")); err != nil {
		t.Fatal(err)
	}
	waitJS(`document.getElementById('item').textContent === 'Headless hoodie'`)
	waitJS(`document.getElementById('stock').textContent === '3'`)
	waitJS(`!document.getElementById('buy').disabled`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	// Greyed out at once, and a second click does nothing.
	if !js(`document.getElementById('buy').disabled && getComputedStyle(document.getElementById('buy')).backgroundColor === 'rgb(184, 184, 184)'`) {
		t.Fatal("buy button not greyed out after one click")
	}
	js(`document.getElementById('buy').click(), true`)
	waitJS(`document.getElementById('result').textContent.includes('reserved')`)
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(result, sl.ID+".") {
		t.Fatalf("result %q lacks the order id", result)
	}
	c, err := e.svc.inv.Counts(bg, sl.ID)
	if err != nil || c.Reserved != 1 {
		t.Fatalf("counts after one click: %+v %v", c, err)
	}
	waitJS(`document.getElementById('stock').textContent === '2'`) // live stock
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("pay"))); err != nil {
		t.Fatal(err)
	}
	waitJS(`document.getElementById('result').textContent.includes('paid')`)
	if c, _ := e.svc.inv.Counts(bg, sl.ID); c.Sold != 1 || c.Reserved != 0 {
		t.Fatalf("counts after paying: %+v", c)
	}
}
