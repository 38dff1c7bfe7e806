package idempotency

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// hashTag is what Redis Cluster hashes: the part between the first '{' and the
// next '}', when non-empty; otherwise the whole key.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

var unescaper = strings.NewReplacer("%25", "%", "%7B", "{", "%7D", "}", "%3A", ":")

func FuzzRecordKeys(f *testing.F) {
	f.Add("user:1", "order-1")
	f.Add("", "}{")
	f.Add("a:b", "c")
	f.Add("%7B", "{}")
	f.Fuzz(func(t *testing.T, scope, id string) {
		c := defaultConfig()
		if err := c.validate(Key{Scope: scope, ID: id}, "fp"); err != nil {
			return
		}
		for _, ns := range []string{"k", "t"} {
			rec, lease := c.recordKeys(ns, Key{Scope: scope, ID: id})
			tag := hashTag(rec)
			if tag != hashTag(lease) || tag == rec {
				t.Fatalf("keys %q %q do not share a hash tag", rec, lease)
			}
			// The tag holds ns, scope and id unambiguously: parse them back.
			parts := strings.Split(tag, ":")
			if len(parts) != 3 || parts[0] != ns || unescaper.Replace(parts[1]) != scope || unescaper.Replace(parts[2]) != id {
				t.Fatalf("tag %q does not decode to (%q, %q, %q)", tag, ns, scope, id)
			}
		}
	})
}

// FuzzMiddleware sends arbitrary keys and bodies through the middleware: it must
// never panic and answer only with the statuses the draft defines (or the
// handler's own), never a 5xx.
func FuzzMiddleware(f *testing.F) {
	f.Add(`"k1"`, "body", "POST")
	f.Add(`k1`, "body2", "PATCH")
	f.Add(``, "", "POST")
	f.Add(`"k1";a=1`, "body", "POST")
	f.Add("\"\x00\"", "x", "POST")
	m, err := miniredis.Run()
	if err != nil {
		f.Fatal(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	s, err := New(rdb, WithMaxKeyBytes(64))
	if err != nil {
		f.Fatal(err)
	}
	h := s.Middleware(MaxRequestBytes(128))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	f.Fuzz(func(t *testing.T, key, body, method string) {
		if method != "POST" && method != "PATCH" {
			method = "POST"
		}
		req := httptest.NewRequest(method, "/x", strings.NewReader(body))
		req = req.WithContext(context.Background())
		if key != "" {
			req.Header.Set(HeaderName, key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 201, 400, 409, 413, 422:
		default:
			t.Fatalf("key %q body %q: status %d %s", key, body, w.Code, w.Body)
		}
	})
}
