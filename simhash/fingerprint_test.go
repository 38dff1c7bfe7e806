package simhash

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveFingerprint is the textbook loop: +w / -w per bit.
func naiveFingerprint(feats []uint64, weights []float64) Fingerprint {
	var v [64]float64
	for j, h := range feats {
		for i := range 64 {
			if h>>i&1 == 1 {
				v[i] += weights[j]
			} else {
				v[i] -= weights[j]
			}
		}
	}
	var fp uint64
	for i := range 64 {
		if v[i] > 0 {
			fp |= 1 << i
		}
	}
	if len(feats) > 0 && fp == 0 {
		fp = 1
	}
	return Fingerprint(fp)
}

// TestAccumulatorMatchesNaive: the SWAR unit path (with its spills every 255
// features) and the weighted path agree with the textbook loop.
func TestAccumulatorMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 254, 255, 256, 1000, 5000} {
		feats := make([]uint64, n)
		ws := make([]float64, n)
		var acc Accumulator
		for i := range feats {
			feats[i] = rng.Uint64()
			ws[i] = 1
			if i%3 == 0 {
				ws[i] = rng.Float64() * 3
				acc.Add(feats[i], ws[i])
			} else {
				acc.AddUnit(feats[i])
			}
		}
		if got, want := acc.Sum(), naiveFingerprint(feats, ws); got != want {
			t.Fatalf("n=%d: %x, want %x", n, got, want)
		}
	}
	var acc Accumulator
	acc.Add(42, nanFloat())
	if acc.Sum() != Empty {
		t.Fatal("NaN weight counted")
	}
}

func nanFloat() float64 { z := 0.0; return z / z }

func TestEmpty(t *testing.T) {
	h, _ := New()
	for _, s := range []string{"", "   ", "!!!,,,。。。", "\x00\x01"} {
		if fp := h.Fingerprint(s); fp != Empty {
			t.Fatalf("Fingerprint(%q) = %x, want Empty", s, fp)
		}
	}
	if Near(Empty, Empty, 64) || Near(Empty, h.Fingerprint("hello"), 64) {
		t.Fatal("Empty must match nothing")
	}
	if h.Fingerprint("hello") == Empty {
		t.Fatal("a real text got Empty")
	}
}

// TestCJKRegression is the case that breaks word-regex simhash libraries: they
// find no features in Chinese, so every Chinese text gets the same
// fingerprint. Here unrelated Chinese texts are far apart, near-duplicates are
// near, and case/width variants are identical.
func TestCJKRegression(t *testing.T) {
	h, _ := New()
	common := "消费者踊跃参与抢购，物流公司也提前做好了准备，确保包裹能够及时送达。业内人士表示，今年的销售额有望再创新高，" +
		"但平台之间的竞争也更加激烈，商家需要在价格和服务上下功夫。监管部门提醒消费者理性消费，注意防范虚假促销和网络诈骗。" +
		"不少快递网点在凌晨就开始分拣货物，工作人员轮班作业，一些城市还启用了无人车和无人机进行末端配送。" +
		"分析师指出，直播带货已经成为新的增长点，头部主播单场销售额动辄上亿元，但退货率偏高的问题依然存在。" +
		"与此同时，绿色包装也受到越来越多的关注，部分平台鼓励商家使用可循环快递箱，减少一次性塑料的使用。"
	a := "今年双十一期间，各大电商平台推出了大量优惠活动，" + common
	b := "今年双十一期间，各大电商平台推出了不少优惠活动，" + common
	c := "研究人员发现，适量运动可以显著改善睡眠质量，并降低患心血管疾病的风险，专家建议每周至少进行一百五十分钟的中等强度运动。"
	d := "天气预报显示，明天北方地区将迎来大范围降温，部分地区有雨雪天气，请市民注意添衣保暖，出行时注意交通安全。"
	fa, fb, fc, fd := h.Fingerprint(a), h.Fingerprint(b), h.Fingerprint(c), h.Fingerprint(d)
	if fa == Empty || fc == Empty {
		t.Fatal("Chinese text has no features")
	}
	if d := Distance(fa, fb); d > 3 {
		t.Errorf("near-duplicate Chinese at distance %d", d)
	}
	for _, p := range [][2]Fingerprint{{fa, fc}, {fa, fd}, {fc, fd}} {
		if d := Distance(p[0], p[1]); d < 12 {
			t.Errorf("unrelated Chinese texts at distance %d", d)
		}
	}
	if h.Fingerprint("ＳＵＰＥＲ　Ｓａｌｅ　２０２６！") != h.Fingerprint("super sale 2026") {
		t.Error("width/case folding changes the fingerprint")
	}
	// Mixed scripts: adding an English word to Chinese text moves it a little.
	if d := Distance(fa, h.Fingerprint(a+" iPhone")); d > 3 {
		t.Errorf("one extra word moved the fingerprint by %d", d)
	}
}

func TestHasherOptions(t *testing.T) {
	for _, o := range []Option{WithShingle(0), WithShingle(9), WithCJKGram(0)} {
		if _, err := New(o); err == nil {
			t.Fatal("bad option accepted")
		}
	}
	text := "the quick brown fox jumps over the lazy dog"
	h1, _ := New(WithShingle(1))
	h2, _ := New() // default: word pairs
	reordered := "the lazy dog jumps over the quick brown fox"
	if h1.Fingerprint(text) != h1.Fingerprint(reordered) {
		t.Error("shingle 1 is a bag of words: reordering must not matter")
	}
	if h2.Fingerprint(text) == h2.Fingerprint(reordered) {
		t.Error("shingle 2 must see word order")
	}
	if h2.Fingerprint("fox") == Empty {
		t.Error("a text shorter than a shingle must still have features")
	}
	// Weights: a heavy token dominates.
	hw, _ := New(WithShingle(1), WithTokenWeight(func(tok string) float64 {
		if tok == "fox" {
			return 100
		}
		return 1
	}))
	if got, want := hw.Fingerprint(text), hw.Fingerprint("fox"); Distance(got, want) > 0 {
		t.Errorf("weighted: distance %d to the heavy token alone", Distance(got, want))
	}
	// A custom extractor replaces everything.
	hx, _ := New(WithExtractor(lineExtractor{}))
	if hx.Fingerprint("a\nb") != hx.Fingerprint("b\na") || hx.Fingerprint("a\nb") == h1.Fingerprint("a b") {
		t.Error("custom extractor not used")
	}
}

type lineExtractor struct{}

func (lineExtractor) Extract(text string, acc *Accumulator) {
	for _, l := range strings.Split(text, "\n") {
		acc.AddUnit(HashBytes([]byte("line:" + l)))
	}
}

func TestHashBytesStable(t *testing.T) {
	// Stored fingerprints (the Redis index) depend on this value never changing.
	if got := HashBytes([]byte("surge")); got != 0x541855097c2ec2d1 {
		t.Fatalf("HashBytes changed: %#x", got)
	}
	h, _ := New()
	if got := h.Fingerprint("surge simhash stable"); got != h.Fingerprint("Surge SIMHASH stable") {
		t.Fatal("case folding")
	}
}
