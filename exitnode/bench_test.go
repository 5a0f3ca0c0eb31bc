package exitnode

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchmarkProxy measures one small GET through a standalone exit node on
// loopback, with parallel clients, optionally with a transformer.
func benchmarkProxy(b *testing.B, transformer string) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer up.Close()
	cfg := Config{AllowPrivate: true}
	if transformer != "" {
		cfg.Transformer = script(b, "t.js", transformer)
	}
	n := newNode(b, cfg)
	rt := ProxyRoundTripper(n.url, n.token)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", up.URL+"/v1/item", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkProxyPlain(b *testing.B) { benchmarkProxy(b, "") }

func BenchmarkProxyJSTransformer(b *testing.B) {
	benchmarkProxy(b, `export default (req, { env }) => {
		req.headers["Authorization"] = ["Bearer k-123456"];
		return req;
	}`)
}
