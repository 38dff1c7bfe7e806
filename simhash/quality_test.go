package simhash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// gen makes a synthetic language: a Zipf-distributed vocabulary, so that, as in
// real text, a few words are everywhere (the hard case for simhash: unrelated
// documents share their frequent words).
type gen struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	vocab []string
	cjk   bool
}

func newGen(seed uint64, cjk bool) *gen {
	rng := rand.New(rand.NewPCG(seed, 99))
	g := &gen{rng: rng, cjk: cjk, zipf: rand.NewZipf(rng, 1.1, 2, 2999)}
	for range 3000 {
		if cjk {
			g.vocab = append(g.vocab, string(rune(0x4E00+rng.IntN(0x5000))))
		} else {
			var b strings.Builder
			for range 2 + rng.IntN(7) {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
			g.vocab = append(g.vocab, b.String())
		}
	}
	return g
}

func (g *gen) word() string { return g.vocab[g.zipf.Uint64()] }

// doc is a list of sentences, each a list of words (CJK: characters).
type doc [][]string

func (g *gen) doc(sentences, words int) doc {
	d := make(doc, sentences)
	for i := range d {
		for range words {
			d[i] = append(d[i], g.word())
		}
	}
	return d
}

func (d doc) text(cjk bool) string {
	var b strings.Builder
	for _, s := range d {
		if cjk {
			b.WriteString(strings.Join(s, ""))
			b.WriteString("。")
		} else {
			b.WriteString(strings.Join(s, " "))
			b.WriteString(". ")
		}
	}
	return b.String()
}

func (d doc) clone() doc {
	c := make(doc, len(d))
	for i := range d {
		c[i] = append([]string(nil), d[i]...)
	}
	return c
}

// edit applies n edits of one kind to a copy of d.
func (g *gen) edit(d doc, kind string, n int) doc {
	c := d.clone()
	for range n {
		s := g.rng.IntN(len(c))
		p := g.rng.IntN(len(c[s]))
		switch kind {
		case "insert":
			c[s] = append(c[s][:p], append([]string{g.word()}, c[s][p:]...)...)
		case "delete":
			c[s] = append(c[s][:p], c[s][p+1:]...)
		case "replace":
			c[s][p] = g.word()
		case "reorder":
			t := g.rng.IntN(len(c))
			c[s], c[t] = c[t], c[s]
		}
	}
	return c
}

type qualityResult struct {
	recall            map[string]float64
	pairs, falsePairs int
	unrelatedPairs    int
}

// runQuality builds families (an original and edited copies), indexes every
// document and queries each original: matches in its family are true
// positives, matches in other families are false.
func runQuality(t *testing.T, h *Hasher, cjk bool, families int) qualityResult {
	g := newGen(1, cjk)
	idx, _ := NewMemoryIndex(3)
	ctx := context.Background()
	kinds := []string{"insert", "delete", "replace", "reorder"}
	orig := make([]Fingerprint, families)
	edited := map[string][]Fingerprint{}
	words := 20
	for f := range families {
		d := g.doc(25, words) // 500 words or characters
		orig[f] = h.Fingerprint(d.text(cjk))
		_ = idx.Add(ctx, fmt.Sprintf("%d/orig", f), orig[f])
		for _, k := range kinds {
			fp := h.Fingerprint(g.edit(d, k, 2).text(cjk))
			edited[k] = append(edited[k], fp)
			_ = idx.Add(ctx, fmt.Sprintf("%d/%s", f, k), fp)
		}
	}
	res := qualityResult{recall: map[string]float64{}}
	for _, k := range kinds {
		hit := 0
		for f, fp := range edited[k] {
			if Near(orig[f], fp, 3) {
				hit++
			}
		}
		res.recall[k] = float64(hit) / float64(families)
	}
	for f, fp := range orig {
		ms, _ := idx.Query(ctx, fp)
		for _, m := range ms {
			res.pairs++
			if !strings.HasPrefix(m.ID, fmt.Sprintf("%d/", f)) {
				res.falsePairs++
			}
		}
	}
	res.unrelatedPairs = families * (families - 1) * (len(kinds) + 1)
	return res
}

// TestQuality reports recall and precision of "near duplicate at k = 3" on
// generated English-like and Chinese-like corpora of 500-token documents with
// 2 controlled edits each, and asserts the floor the README quotes.
func TestQuality(t *testing.T) {
	h, _ := New()
	for _, cjk := range []bool{false, true} {
		r := runQuality(t, h, cjk, 150)
		lang := map[bool]string{false: "english", true: "chinese"}[cjk]
		precision := float64(r.pairs-r.falsePairs) / float64(max(r.pairs, 1))
		t.Logf("%s: recall insert %.2f delete %.2f replace %.2f reorder %.2f; precision %.4f (%d false of %d unrelated pairs)",
			lang, r.recall["insert"], r.recall["delete"], r.recall["replace"], r.recall["reorder"],
			precision, r.falsePairs, r.unrelatedPairs)
		for k, v := range r.recall {
			if v < 0.6 {
				t.Errorf("%s: recall after 2 %s edits %.2f < 0.6", lang, k, v)
			}
		}
		if float64(r.falsePairs) > 1e-4*float64(r.unrelatedPairs) {
			t.Errorf("%s: %d unrelated pairs within k=3", lang, r.falsePairs)
		}
	}
	// Why the default shingles words in pairs: a bag of words lets frequent
	// words dominate, and unrelated English-like texts collide.
	h1, _ := New(WithShingle(1))
	r := runQuality(t, h1, false, 150)
	t.Logf("english, shingle 1: recall insert %.2f delete %.2f replace %.2f reorder %.2f; %d false of %d unrelated pairs",
		r.recall["insert"], r.recall["delete"], r.recall["replace"], r.recall["reorder"], r.falsePairs, r.unrelatedPairs)
}
