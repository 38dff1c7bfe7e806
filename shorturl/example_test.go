package shorturl_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/shorturl"
)

func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	s, _ := shorturl.New(rdb)
	defer s.Close()
	l, _ := s.Shorten(ctx, "https://example.com/flash-sale?id=42")
	fmt.Println("code:", l.Code)
	alias, _ := s.Claim(ctx, "sale", "https://example.com/sale", shorturl.TTL(24*time.Hour))
	fmt.Println("alias:", alias.Code)
	_, err := s.Claim(ctx, "sale", "https://example.com/other")
	fmt.Println("again:", err)

	h, _ := shorturl.NewHandler(s)
	defer h.Close()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/"+l.Code, nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/missing", nil))
	fmt.Println(w.Code)
	// Output:
	// code: 1
	// alias: sale
	// again: shorturl: alias already taken
	// 302 https://example.com/flash-sale?id=42
	// 404
}

func ExampleEncode() {
	fmt.Println(shorturl.Encode(0), shorturl.Encode(61), shorturl.Encode(62), shorturl.Encode(1<<32))
	n, err := shorturl.Decode("4gfFC4")
	fmt.Println(n, err)
	_, err = shorturl.Decode("04")
	fmt.Println(err)
	// Output:
	// 0 z 10 4gfFC4
	// 4294967296 <nil>
	// shorturl: invalid code: leading zero
}

func ExamplePermutation() {
	p, _ := shorturl.NewPermutation([]byte("my secret key"), 6)
	for id := uint64(1); id <= 3; id++ {
		y, _ := p.Permute(id)
		code, _ := shorturl.EncodeFixed(y, p.Width())
		back, _ := p.Invert(y)
		fmt.Println(id, len(code), back == id)
	}
	// Output:
	// 1 6 true
	// 2 6 true
	// 3 6 true
}
