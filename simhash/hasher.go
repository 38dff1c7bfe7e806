package simhash

// Options for a Hasher.
type Option func(*config)

type config struct {
	gram      int
	shingle   int
	weight    func(token string) float64
	extractor Extractor
}

// WithCJKGram sets the CJK character n-gram size (default 2, 1..8).
func WithCJKGram(n int) Option { return func(c *config) { c.gram = n } }

// WithShingle makes each word feature a run of n consecutive words (default 2,
// 1..8). CJK n-grams are shingles already and are used as they are. n = 1 is a
// bag of words: reordering costs nothing, but frequent words dominate and
// unrelated texts of one language collide (6% false pairs at k=3 on the
// generated corpus of the tests); n = 2 removes that at some cost in recall.
func WithShingle(n int) Option { return func(c *config) { c.shingle = n } }

// WithTokenWeight gives each token a weight (e.g. IDF from your corpus); a
// shingle weighs the mean of its tokens. The default weighs every occurrence 1,
// which is term frequency. Weighting allocates a string per token and so is
// slower than the default.
func WithTokenWeight(w func(token string) float64) Option { return func(c *config) { c.weight = w } }

// WithExtractor replaces tokenization and weighting altogether.
func WithExtractor(e Extractor) Option { return func(c *config) { c.extractor = e } }

// Extractor turns a text into weighted feature hashes added to acc. Feature
// hashes should be well mixed 64-bit values (see HashBytes).
type Extractor interface {
	Extract(text string, acc *Accumulator)
}

// Hasher computes fingerprints. It is immutable and safe for concurrent use.
type Hasher struct {
	cfg config
	tok *Tokenizer
}

// New returns a Hasher with the given options.
func New(opts ...Option) (*Hasher, error) {
	cfg := config{gram: 2, shingle: 2}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.shingle < 1 || cfg.shingle > 8 {
		return nil, ErrConfig
	}
	tok, err := NewTokenizer(cfg.gram)
	if err != nil {
		return nil, err
	}
	return &Hasher{cfg: cfg, tok: tok}, nil
}

// Tokenizer returns the tokenizer in use.
func (h *Hasher) Tokenizer() *Tokenizer { return h.tok }

// Fingerprint returns the simhash of text; Empty when it has no features.
func (h *Hasher) Fingerprint(text string) Fingerprint {
	var acc Accumulator
	if h.cfg.extractor != nil {
		h.cfg.extractor.Extract(text, &acc)
	} else {
		h.Extract(text, &acc)
	}
	return acc.Sum()
}

// Extract is the default extractor: tokens, word shingles, hashed, weighted.
func (h *Hasher) Extract(text string, acc *Accumulator) {
	n := h.cfg.shingle
	weight := h.cfg.weight
	var ring [8]uint64
	var wring [8]float64
	seen := 0
	h.tok.scan(text, func(tok []byte, cjk bool) {
		th := HashBytes(tok)
		w := 1.0
		if weight != nil {
			w = weight(string(tok))
		}
		if n == 1 || cjk {
			if weight == nil {
				acc.AddUnit(th)
			} else {
				acc.Add(th, w)
			}
			return
		}
		copy(ring[:n-1], ring[1:n])
		copy(wring[:n-1], wring[1:n])
		ring[n-1], wring[n-1] = th, w
		if seen++; seen < n {
			return
		}
		f := uint64(n)
		sw := 0.0
		for i := range n {
			f = mix64(f*0x9E3779B97F4A7C15 ^ ring[i])
			sw += wring[i]
		}
		if weight == nil {
			acc.AddUnit(f)
		} else {
			acc.Add(f, sw/float64(n))
		}
	})
	if n > 1 && seen > 0 && seen < n {
		// A text shorter than one shingle still has features: its tokens.
		for i := n - seen; i < n; i++ {
			acc.Add(ring[i], wring[i])
		}
	}
}

// HashBytes is the feature hash: 64-bit FNV-1a followed by the splitmix64
// finalizer, so that every input bit affects every output bit (FNV alone has
// weak high bits for short inputs, and simhash uses all 64). It is stable across
// processes and versions, which the Redis index relies on.
func HashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return mix64(h)
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
