// Package exitnode is the exit node: an egress HTTP forward proxy through
// which programs' outgoing requests leave, and whose transformer may rewrite
// them, for example to inject a credential the program never sees.
//
// One pipeline serves every way in. A request arrives either on the
// listening port (standalone, authenticated with the token) or through
// [Server.RoundTripper] (embedded in a running program, no port). The
// pipeline then:
//
//  1. strips hop-by-hop and proxy headers and caps the body size;
//  2. hands the request to the transformer, if one is configured, and fails
//     closed on any transformer error (502, nothing goes upstream);
//  3. resolves the destination once, refuses private, loopback, link-local,
//     CGNAT, multicast, unspecified and IPv4-embedding IPv6 addresses, and
//     dials exactly the address it checked;
//  4. makes the upstream TLS connection itself, verifying certificates;
//  5. scrubs every value the transformer added from the response, so an
//     upstream that echoes a credential back cannot leak it to the program;
//  6. writes one JSON access-log line with secrets redacted.
//
// CONNECT tunnels are authenticated, checked against the same address policy
// and relayed as they are; a transformer never sees them.
//
// Transformers come in three kinds, all failing closed: an executable run
// once per request (JSON in on standard input, JSON out on standard output),
// the same executable kept running as a worker (one JSON request a line, see
// Config.TransformerWorker), and a .js or .ts file whose default export runs
// in an embedded goja runtime, bundled with esbuild, with no Node.js needed.
// A change to the file applies to the next request.
//
// A client of a standalone exit node uses [ProxyRoundTripper], which sends
// https:// requests in absolute form rather than through CONNECT, so the
// transformer sees them. [ResponseError] tells the exit node's own refusals
// from upstream answers.
//
// The package owns the proxy, its transformer engines and its address policy.
// It knows nothing of programs, the log or editors; the runtime uses it
// through an [http.RoundTripper].
package exitnode
