package exitnode

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestProxyInjectsCredentialAndScrubsIt(t *testing.T) {
	t.Setenv("UPSTREAM_KEY", secretKey)
	up := newUpstream(t, false)
	n := newNode(t, Config{Transformer: script(t, "inject.py", injector)})

	status, h, body := get(t, n.client().Transport, "POST", up.url("/v1/items?page=2"), "hello")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	got := up.last()
	if got.Header.Get("Authorization") != "Bearer "+secretKey {
		t.Errorf("upstream saw Authorization %q", got.Header.Get("Authorization"))
	}
	if got.Header.Get("Proxy-Authorization") != "" {
		t.Error("the exit node token reached upstream")
	}
	if up.lastBody() != "hello" || got.URL.RawQuery != "page=2" {
		t.Errorf("upstream saw body %q query %q", up.lastBody(), got.URL.RawQuery)
	}

	// The upstream echoed the credential in a header and the body; the
	// program must see neither.
	if strings.Contains(body, secretKey) || strings.Contains(fmt.Sprint(h), secretKey) {
		t.Errorf("the credential leaked to the client: %v %s", h, body)
	}
	if !strings.Contains(body, "auth=[redacted]") || h.Get("X-Echo") != "[redacted]" {
		t.Errorf("echo not scrubbed as expected: X-Echo=%q body=%q", h.Get("X-Echo"), body)
	}
	if h.Get(ErrorHeader) != "" {
		t.Errorf("an upstream forged %s: %q", ErrorHeader, h.Get(ErrorHeader))
	}

	// A streamed answer (no length, the credential split across writes) is
	// scrubbed as it passes.
	status, _, body = get(t, n.client().Transport, "GET", up.url("/stream"), "")
	if status != 200 || strings.Contains(body, secretKey) ||
		!strings.Contains(body, "auth=[redacted]") {
		t.Errorf("streamed echo: status %d body %q", status, body)
	}

	logs := n.log.String()
	if strings.Contains(logs, secretKey) || strings.Contains(logs, n.token) {
		t.Errorf("a secret reached the access log:\n%s", logs)
	}
	var line map[string]any
	first, _, _ := strings.Cut(logs, "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("access log is not one JSON line: %v\n%s", err, logs)
	}
	for _, k := range []string{"time", "method", "host", "status", "bytes", "duration_ms",
		"transformed"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log line lacks %q: %v", k, line)
		}
	}
	if line["transformed"] != true || line["status"] != float64(200) {
		t.Errorf("access log line %v", line)
	}
}

func TestProxyTLSUpstream(t *testing.T) {
	up := newUpstream(t, true)
	pool := x509.NewCertPool()
	pool.AddCert(up.Certificate())
	js := script(t, "inject.ts", `
		type Req = { method: string; url: string; headers: Record<string, string[]>; body: string };
		export default async function (req: Req, ctx: { env: Record<string, string> }): Promise<Req> {
			req.headers["Authorization"] = ["Bearer " + ctx.env.UPSTREAM_KEY];
			req.headers["X-Env-Keys"] = [Object.keys(ctx.env).join(",")];
			return req;
		}`)
	t.Setenv("UPSTREAM_KEY", secretKey)
	t.Setenv("OTHER_SECRET", "not for the transformer")
	n := newNode(t, Config{Transformer: js, TransformerEnv: []string{"UPSTREAM_KEY"}, RootCAs: pool})

	status, h, body := get(t, n.client().Transport, "GET", up.url("/secure"), "")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if up.last().Header.Get("Authorization") != "Bearer "+secretKey {
		t.Errorf("upstream saw %q", up.last().Header.Get("Authorization"))
	}
	if keys := up.last().Header.Get("X-Env-Keys"); keys != "UPSTREAM_KEY" {
		t.Errorf("ctx.env held %q, want only the variable named", keys)
	}
	if up.last().TLS == nil {
		t.Error("the upstream request did not use TLS")
	}
	if strings.Contains(body, secretKey) || strings.Contains(fmt.Sprint(h), secretKey) {
		t.Error("the credential leaked to the client")
	}
	if strings.Contains(n.log.String(), secretKey) {
		t.Error("the credential reached the access log")
	}
}

func TestProxyRefusesUntrustedCertificate(t *testing.T) {
	up := newUpstream(t, true)
	n := newNode(t, Config{}) // system roots only: the test CA is unknown
	status, h, body := get(t, n.client().Transport, "GET", up.url("/"), "")
	if status != http.StatusBadGateway || h.Get(ErrorHeader) != "tls-untrusted" {
		t.Fatalf("status %d %s: %s", status, h.Get(ErrorHeader), body)
	}
	if !strings.Contains(body, "certificate") || up.count() != 0 {
		t.Errorf("body %q, upstream hits %d", body, up.count())
	}
}

func TestProxyAuthentication(t *testing.T) {
	up := newUpstream(t, false)
	n := newNode(t, Config{})
	cases := []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusProxyAuthRequired},
		{"wrong token", "not-the-token", http.StatusProxyAuthRequired},
		{"right token", n.token, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := up.count()
			req, _ := http.NewRequest("GET", up.url("/"), nil)
			pu, _ := url.Parse(n.url)
			rt := &http.Transport{Proxy: http.ProxyURL(pu)}
			defer rt.CloseIdleConnections()
			if c.token != "" {
				req.Header.Set("Proxy-Authorization", "Bearer "+c.token)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want == http.StatusProxyAuthRequired {
				if len(resp.Header.Values("Proxy-Authenticate")) == 0 {
					t.Error("407 without Proxy-Authenticate")
				}
				if up.count() != before {
					t.Error("an unauthenticated request reached upstream")
				}
			}
		})
	}

	// Basic credentials with the token as password work too.
	pu, _ := url.Parse(n.url)
	pu.User = url.UserPassword("program", n.token)
	rt := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer rt.CloseIdleConnections()
	resp, err := rt.RoundTrip(mustRequest(t, "GET", up.url("/basic")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Basic with the token: status %d", resp.StatusCode)
	}
	if strings.Contains(n.log.String(), n.token) {
		t.Error("the token reached the access log")
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestProxyRefusesPrivateDestinations(t *testing.T) {
	up := newUpstream(t, false)
	_, port, _ := net.SplitHostPort(up.Listener.Addr().String())
	n := newNode(t, Config{})
	targets := []string{
		"private.example.com", "meta.example.com", "cgnat.example.com", "loop.example.com",
		"mapped.example.com", "nat64.example.com", "ula.example.com", "linklocal.example.com",
		"127.0.0.1", "10.0.0.8", "169.254.169.254", "100.100.100.200", "[::1]",
		"[::ffff:127.0.0.1]", "[2002:7f00:1::1]", "[2001::1]", "[fe80::1]", "0.0.0.0", "224.0.0.1",
	}
	rt := n.client().Transport
	for _, host := range targets {
		status, h, body := get(t, rt, "GET", "http://"+host+":"+port+"/", "")
		if status != http.StatusForbidden || h.Get(ErrorHeader) != "destination-refused" {
			t.Errorf("%s: status %d %q: %s", host, status, h.Get(ErrorHeader), body)
		}
	}
	if up.count() != 0 || n.net.dialCount() != 0 {
		t.Errorf("refused requests went out: %d upstream hits, dials %v", up.count(), n.net.dials)
	}

	// CONNECT is held to the same policy.
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT meta.example.com:443 HTTP/1.1\r\nHost: meta.example.com:443\r\n"+
		"Proxy-Authorization: Bearer %s\r\n\r\n", n.token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("CONNECT to the metadata address: status %d", resp.StatusCode)
	}
	if n.net.dialCount() != 0 {
		t.Errorf("a refused tunnel dialled out: %v", n.net.dials)
	}
}

func TestProxyChecksAgainAfterTransformer(t *testing.T) {
	up := newUpstream(t, false)
	js := script(t, "redirect.js", `
		export default function (req) {
			req.url = "http://meta.example.com/latest/meta-data/";
			return req;
		}`)
	n := newNode(t, Config{Transformer: js})
	status, h, _ := get(t, n.client().Transport, "GET", up.url("/"), "")
	if status != http.StatusForbidden || h.Get(ErrorHeader) != "destination-refused" {
		t.Errorf("status %d %q", status, h.Get(ErrorHeader))
	}
	if up.count() != 0 || n.net.dialCount() != 0 {
		t.Error("the rewritten request went out")
	}
}

func TestAllowPrivateStillRefusesItself(t *testing.T) {
	up := newUpstream(t, false)
	n := newNode(t, Config{AllowPrivate: true})
	status, _, body := get(t, n.client().Transport, "GET", up.URL+"/local", "")
	if status != 200 || !strings.Contains(body, "path=/local") {
		t.Fatalf("loopback with --allow-private: status %d %s", status, body)
	}
	status, h, _ := get(t, n.client().Transport, "GET", n.url+"/", "")
	if status != http.StatusForbidden || h.Get(ErrorHeader) != "destination-refused" {
		t.Errorf("request to the exit node itself: status %d %q", status, h.Get(ErrorHeader))
	}
}

func TestTransformerFailuresFailClosed(t *testing.T) {
	t.Setenv("UPSTREAM_KEY", secretKey)
	cases := []struct {
		name, file, text, want string
	}{
		{"non-zero exit", "fail.sh", "#!/bin/sh\ncat >/dev/null\nexit 3\n", "exited with status 3"},
		{"bad output", "bad.sh", "#!/bin/sh\ncat >/dev/null\necho not json\n", "not a request object"},
		{"empty output", "empty.sh", "#!/bin/sh\ncat >/dev/null\n", "not a request object"},
		{"time-out", "slow.sh", "#!/bin/sh\nsleep 5\n", "did not answer within"},
		{"bad url", "url.sh", "#!/bin/sh\ncat >/dev/null\n" +
			`echo '{"method":"GET","url":"file:///etc/passwd","headers":{}}'` + "\n",
			"not an absolute http or https URL"},
		{"js throw", "throw.js", `export default function () { throw new Error("no key") }`,
			"no key"},
		{"js reject", "reject.js", `export default async function () { throw new Error("nope") }`,
			"nope"},
		{"js returns nothing", "nothing.js", `export default function (req) {}`,
			"returned nothing"},
		{"js never settles", "pending.js", `export default function () { return new Promise(() => {}) }`,
			"never settled"},
		{"js throws its secret", "leak.js",
			`export default function (r, { env }) { throw new Error("key " + env.UPSTREAM_KEY) }`,
			"key [redacted]"},
		{"js loops", "loop.js", `export default function () { for (;;) {} }`, "did not answer within"},
		{"js bad body", "body.js", `export default function (r) { r.body = "%%"; return r }`,
			"not base64"},
		{"js bad header", "header.js",
			`export default function (r) { r.headers["X-A"] = "1"; return r }`, "not a list of strings"},
		{"js header injection", "inject.js",
			`export default function (r) { r.headers["X-A"] = ["1\r\nX-B: 2"]; return r }`, "line break"},
		{"js returns a string", "string.js", `export default function (r) { return "GET" }`,
			"not a request object"},
	}
	up := newUpstream(t, false)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t, Config{Transformer: script(t, c.file, c.text),
				TransformerTimeout: 300 * time.Millisecond, TransformerEnv: []string{"UPSTREAM_KEY"}})
			status, h, body := get(t, n.client().Transport, "GET", up.url("/"), "")
			if status != http.StatusBadGateway || h.Get(ErrorHeader) != "transformer-failed" {
				t.Fatalf("status %d %q: %s", status, h.Get(ErrorHeader), body)
			}
			if !strings.Contains(body, c.want) || strings.Contains(body, secretKey) {
				t.Errorf("message %q does not say %q", body, c.want)
			}
			if up.count() != 0 {
				t.Error("a request went upstream after the transformer failed")
			}
		})
	}
}

func TestTransformerLoadErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, path, want string
	}{
		{"missing", dir + "/nope.py", "does not exist"},
		{"not executable", writeFile(t, "plain.py", "print(1)", 0o644), "not executable"},
		{"syntax error", writeFile(t, "bad.ts", "export default function (", 0o644), "bad.ts:1:"},
		{"no default export", writeFile(t, "named.js", "export function f() {}", 0o644),
			"no default export"},
	}
	for _, c := range cases {
		_, err := New(Config{Transformer: c.path})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func writeFile(t *testing.T, name, text string, mode uint32) string {
	t.Helper()
	path := script(t, name, text)
	if err := chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJSTransformerReloadsOnChange(t *testing.T) {
	up := newUpstream(t, false)
	path := writeFile(t, "t.js",
		`export default (r) => { r.headers["X-Version"] = ["one"]; return r }`, 0o644)
	n := newNode(t, Config{Transformer: path})
	get(t, n.client().Transport, "GET", up.url("/"), "")
	if v := up.last().Header.Get("X-Version"); v != "one" {
		t.Fatalf("first version sent %q", v)
	}
	// Make the change visible to an mtime check even on coarse clocks.
	rewrite(t, path, `export default (r) => { r.headers["X-Version"] = ["two!"]; return r }`)
	get(t, n.client().Transport, "GET", up.url("/"), "")
	if v := up.last().Header.Get("X-Version"); v != "two!" {
		t.Errorf("after the change the transformer sent %q", v)
	}
}

func TestConnectTunnel(t *testing.T) {
	up := newUpstream(t, true)
	n := newNode(t, Config{})
	pu, _ := url.Parse(n.url)
	pool := x509.NewCertPool()
	pool.AddCert(up.Certificate())
	rt := &http.Transport{
		Proxy:              http.ProxyURL(pu),
		ProxyConnectHeader: http.Header{"Proxy-Authorization": {"Bearer " + n.token}},
		TLSClientConfig:    &tls.Config{RootCAs: pool},
	}
	defer rt.CloseIdleConnections()
	resp, err := rt.RoundTrip(mustRequest(t, "GET", up.url("/tunnelled")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "path=/tunnelled") {
		t.Errorf("through the tunnel: %d %s", resp.StatusCode, body)
	}
}

func TestLimits(t *testing.T) {
	up := newUpstream(t, false)
	n := newNode(t, Config{MaxBodyBytes: 1024, MaxHeaderBytes: 2048})
	rt := n.client().Transport

	status, h, _ := get(t, rt, "POST", up.url("/"), strings.Repeat("x", 2000))
	if status != http.StatusRequestEntityTooLarge || h.Get(ErrorHeader) != "too-large" {
		t.Errorf("large body: status %d", status)
	}
	req := mustRequest(t, "GET", up.url("/"))
	req.Header.Set("X-Big", strings.Repeat("y", 3000))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("large header: status %d", resp.StatusCode)
	}
	if up.count() != 0 {
		t.Error("an oversized request went upstream")
	}
}

func TestBusyRefusesWithServiceUnavailable(t *testing.T) {
	release := make(chan struct{})
	slow := newUpstream(t, false)
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	})
	n := newNode(t, Config{MaxConcurrent: 1})
	first := make(chan int, 1)
	go func() {
		status, _, _ := get(t, n.client().Transport, "GET", slow.url("/"), "")
		first <- status
	}()
	// Wait until the first request holds the only slot.
	for len(n.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	status, h, _ := get(t, n.client().Transport, "GET", slow.url("/"), "")
	close(release)
	if status != http.StatusServiceUnavailable || h.Get(ErrorHeader) != "busy" {
		t.Errorf("second request: status %d", status)
	}
	if s := <-first; s != 200 {
		t.Errorf("first request: status %d", s)
	}
}

func TestEmbeddedRoundTripper(t *testing.T) {
	t.Setenv("UPSTREAM_KEY", secretKey)
	up := newUpstream(t, false)
	s, tn, logs := newEmbedded(t, Config{Transformer: script(t, "inject.py", injector)})
	rt := s.RoundTripper()

	status, h, body := get(t, rt, "GET", up.url("/embedded"), "")
	if status != 200 || up.last().Header.Get("Authorization") != "Bearer "+secretKey {
		t.Fatalf("status %d, upstream saw %q", status, up.last().Header.Get("Authorization"))
	}
	if strings.Contains(body, secretKey) || strings.Contains(fmt.Sprint(h), secretKey) {
		t.Error("the credential leaked to the program")
	}
	status, h, _ = get(t, rt, "GET", "http://private.example.com/", "")
	if status != http.StatusForbidden || h.Get(ErrorHeader) != "destination-refused" {
		t.Errorf("private destination: status %d", status)
	}
	if tn.dialCount() != 1 {
		t.Errorf("dials %v, want only the allowed one", tn.dials)
	}
	out := logs.String()
	if strings.Count(out, "\n") != 2 || strings.Contains(out, secretKey) {
		t.Errorf("access log:\n%s", out)
	}
}

func TestGracefulShutdownFinishesRequests(t *testing.T) {
	release := make(chan struct{})
	slow := newUpstream(t, false)
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "finished")
	})
	n := newNode(t, Config{})
	got := make(chan string, 1)
	go func() {
		_, _, body := get(t, n.client().Transport, "GET", slow.url("/"), "")
		got <- body
	}()
	for len(n.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- n.shutdown() }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if body := <-got; body != "finished" {
		t.Errorf("request in flight got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://")); err == nil {
		t.Error("still accepting after shutdown")
	}
}

func TestHopByHopHeadersStripped(t *testing.T) {
	up := newUpstream(t, false)
	n := newNode(t, Config{})
	req := mustRequest(t, "GET", up.url("/hop"))
	req.Header.Set("Connection", "X-Private-Hop")
	req.Header.Set("X-Private-Hop", "for the exit node only")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Te", "trailers")
	req.Header.Set("X-Kept", "yes")
	resp, err := n.client().Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := up.last().Header
	for _, name := range []string{"X-Private-Hop", "Keep-Alive", "Te", "Proxy-Authorization",
		"Proxy-Connection"} {
		if v := h.Get(name); v != "" {
			t.Errorf("upstream saw %s: %q", name, v)
		}
	}
	if h.Get("X-Kept") != "yes" {
		t.Error("an end-to-end header was dropped")
	}
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := newUpstream(t, false)
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	n := newNode(t, Config{RequestTimeout: 200 * time.Millisecond})
	status, h, body := get(t, n.client().Transport, "GET", slow.url("/"), "")
	if status != http.StatusGatewayTimeout || h.Get(ErrorHeader) != "timeout" {
		t.Errorf("status %d %q: %s", status, h.Get(ErrorHeader), body)
	}
}

func TestResponseError(t *testing.T) {
	up := newUpstream(t, false)
	s, _, _ := newEmbedded(t, Config{})
	rt := s.RoundTripper()

	resp, err := rt.RoundTrip(mustRequest(t, "GET", "http://meta.example.com/"))
	if err != nil {
		t.Fatal(err)
	}
	rerr := ResponseError(resp)
	if !errors.Is(rerr, ErrDestinationRefused) ||
		!strings.Contains(rerr.Error(), "the cloud metadata address") {
		t.Errorf("ResponseError = %v", rerr)
	}
	if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "destination refused") {
		t.Errorf("the body was not kept: %q", b)
	}

	// The upstream sets ErrorHeader itself; the exit node strips it, so its
	// answer is not mistaken for a refusal.
	resp, err = rt.RoundTrip(mustRequest(t, "GET", up.url("/")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := ResponseError(resp); err != nil {
		t.Errorf("an upstream answer was taken for a refusal: %v", err)
	}
}

func TestJSTransformerRewritesBody(t *testing.T) {
	up := newUpstream(t, false)
	js := script(t, "body.js", `
		export default function (req) {
			const text = atob(req.body);
			req.body = btoa(text.toUpperCase() + "!");
			return req;
		}`)
	n := newNode(t, Config{Transformer: js})
	status, _, body := get(t, n.client().Transport, "POST", up.url("/"), "hello")
	if status != 200 || up.lastBody() != "HELLO!" {
		t.Errorf("status %d, upstream got body %q (%s)", status, up.lastBody(), body)
	}
}

func TestShutdownClosesTunnels(t *testing.T) {
	up := newUpstream(t, false)
	n := newNode(t, Config{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	target := strings.TrimPrefix(up.url(""), "http://")
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Bearer %s\r\n\r\n",
		target, target, n.token)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	if err := n.shutdown(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after shutdown the tunnel read %v, want EOF", err)
	}
}
