package exitnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Defaults for the limits in Config. A zero field takes its default.
const (
	DefaultListen             = "127.0.0.1:8788"
	DefaultTransformerTimeout = 5 * time.Second
	DefaultMaxHeaderBytes     = 64 << 10
	DefaultMaxBodyBytes       = 10 << 20
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultIdleTimeout        = 90 * time.Second
	DefaultRequestTimeout     = 2 * time.Minute
	DefaultTunnelIdleTimeout  = 5 * time.Minute
	DefaultMaxConcurrent      = 512
	DefaultShutdownTimeout    = 10 * time.Second
)

// Config describes an exit node. Only Listen and TokenFile differ between a
// standalone exit node and one embedded in a running program.
type Config struct {
	// Listen is the address to listen on, such as "127.0.0.1:8788". Empty
	// means embedded: no port, no token, requests arrive only through
	// Server.RoundTripper.
	Listen string

	// TokenFile holds the token clients must present. Empty means
	// DefaultTokenFile(). A missing file is created with a random token,
	// mode 0600; Server.TokenCreated then reports true. Unused when
	// embedded.
	TokenFile string

	// Transformer is the path of the transformer: an executable, or a .js or
	// .ts file run in the embedded engine. Empty means requests pass as they
	// are.
	Transformer string

	// TransformerEnv names the environment variables a .js or .ts
	// transformer sees as ctx.env. An executable inherits the whole
	// environment of the exit node.
	TransformerEnv []string

	// TransformerWorker keeps an executable transformer running between
	// requests instead of starting it for each one. The worker reads one
	// request per line on standard input and writes one answer per line,
	// each the usual JSON object, and sees MEMBRANE_TRANSFORMER_WORKER=1 in
	// its environment. Ignored for .js and .ts transformers, which always
	// stay loaded.
	TransformerWorker bool

	// TransformerTimeout bounds one transformer run. Default 5 s.
	TransformerTimeout time.Duration

	// TransformerStderr receives an executable transformer's standard error
	// and a JavaScript transformer's console output. Nil discards them.
	TransformerStderr io.Writer

	// AllowPrivate lifts the refusal of loopback, private, link-local,
	// CGNAT, multicast and unspecified destinations, for local work. The
	// exit node's own address stays refused: a request to it would loop.
	AllowPrivate bool

	// Logger receives one access-log record per request, message "access",
	// at level Info; give it a JSON handler for one JSON line per request.
	// Nil logs nothing.
	Logger *slog.Logger

	// RootCAs verifies upstream TLS certificates. Nil means the system's
	// roots (which honour SSL_CERT_FILE and SSL_CERT_DIR).
	RootCAs *x509.CertPool

	// Limits. Over MaxHeaderBytes or MaxBodyBytes a request gets 413.
	MaxHeaderBytes    int           // request line and headers; default 64 KiB
	MaxBodyBytes      int64         // request body; default 10 MiB
	ReadHeaderTimeout time.Duration // default 10 s
	IdleTimeout       time.Duration // keep-alive connections; default 90 s
	RequestTimeout    time.Duration // one whole request; default 2 min
	TunnelIdleTimeout time.Duration // a CONNECT tunnel with no traffic; default 5 min
	MaxConcurrent     int           // requests and tunnels at once; default 512
	ShutdownTimeout   time.Duration // graceful shutdown; default 10 s
}

func (c *Config) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.TransformerTimeout, DefaultTransformerTimeout)
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.TunnelIdleTimeout, DefaultTunnelIdleTimeout)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
}

// Server is an exit node. It is safe for concurrent use.
type Server struct {
	cfg          Config
	token        tokenCheck
	tokenPath    string
	tokenCreated bool
	transformer  transformer // nil when there is none
	upstream     *http.Transport
	slots        chan struct{}
	log          *slog.Logger

	// policyMu guards policy, whose self address is known only once the
	// listener is open.
	policyMu sync.RWMutex
	policy   addressPolicy

	// lookup and dial are the network; tests replace them to map a public
	// name onto a loopback server while the policy still sees the public
	// address.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dial   func(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error)

	tunnelsMu sync.Mutex
	tunnels   map[net.Conn]struct{}
}

// New checks the configuration and prepares an exit node: it loads (or
// creates) the token when standalone, and loads the transformer, so a
// missing or broken transformer is reported before anything listens.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.MaxConcurrent),
		log:     cfg.Logger,
		tunnels: map[net.Conn]struct{}{},
		policy:  addressPolicy{allowPrivate: cfg.AllowPrivate, isLocal: isLocalAddr},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	s.dial = func(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr.String())
	}

	if cfg.Listen != "" {
		path := cfg.TokenFile
		if path == "" {
			var err error
			if path, err = DefaultTokenFile(); err != nil {
				return nil, err
			}
		}
		token, created, err := LoadToken(path)
		if err != nil {
			return nil, err
		}
		s.token, s.tokenPath, s.tokenCreated = newTokenCheck(token), path, created
	}
	if cfg.Transformer != "" {
		t, err := newTransformer(cfg)
		if err != nil {
			return nil, err
		}
		s.transformer = t
	}

	s.upstream = &http.Transport{
		DialContext:            s.dialContext,
		TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        cfg.IdleTimeout,
		TLSHandshakeTimeout:    15 * time.Second,
		ResponseHeaderTimeout:  cfg.RequestTimeout,
		MaxResponseHeaderBytes: int64(cfg.MaxHeaderBytes),
	}
	return s, nil
}

// TokenPath is the token file in use; empty when embedded.
func (s *Server) TokenPath() string { return s.tokenPath }

// TokenCreated reports whether New created the token file, so the caller
// can tell the user where it is.
func (s *Server) TokenCreated() bool { return s.tokenCreated }

// Listen opens the listening socket, so the caller can print the address
// before serving. An address in use is reported as such.
func (s *Server) Listen() (net.Listener, error) {
	if s.cfg.Listen == "" {
		return nil, errors.New("exit node has no listen address: it is embedded")
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: %w", s.cfg.Listen, ErrAddressInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", s.cfg.Listen, err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
		s.policyMu.Lock()
		s.policy.self = ap
		s.policyMu.Unlock()
	}
	return ln, nil
}

// ListenAndServe listens on Config.Listen and serves until ctx is done,
// then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve accepts proxy connections on ln until ctx is done. Then it stops
// accepting, lets requests in flight finish for up to ShutdownTimeout,
// closes CONNECT tunnels and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
		s.policyMu.Lock()
		s.policy.self = ap
		s.policyMu.Unlock()
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		// The handler answers 413 up to twice the cap; beyond that the
		// server itself refuses with 431 without reading further.
		MaxHeaderBytes: 2 * s.cfg.MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.closeTunnels()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	s.Close()
	if err != nil {
		srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// Close releases what the exit node holds between requests: idle upstream
// connections and transformer worker processes. Serve calls it on shutdown;
// an embedded exit node's owner calls it when done.
func (s *Server) Close() error {
	s.upstream.CloseIdleConnections()
	if c, ok := s.transformer.(closer); ok {
		c.close()
	}
	return nil
}

func (s *Server) currentPolicy() addressPolicy {
	s.policyMu.RLock()
	defer s.policyMu.RUnlock()
	return s.policy
}

// dialContext resolves the host once, refuses addresses the policy does
// not allow, and dials exactly an address it checked. It is the only way
// the exit node reaches the network upstream.
func (s *Server) dialContext(ctx context.Context, network, hostport string) (net.Conn, error) {
	addrs, err := s.resolve(ctx, hostport)
	if err != nil {
		return nil, err
	}
	var last error
	for _, a := range addrs {
		conn, err := s.dial(ctx, network, a)
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, fmt.Errorf("connect to %s: %w", hostport, last)
}

// resolve returns the addresses of hostport the policy allows, in the
// resolver's order, or a refusal naming what the host resolved to.
func (s *Server) resolve(ctx context.Context, hostport string) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "bad-request", ErrBadRequest,
			"%q is not host:port", hostport)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "bad-request", ErrBadRequest,
			"%q has no valid port", hostport)
	}

	var ips []netip.Addr
	verb := "resolves to"
	if ip, err := netip.ParseAddr(host); err == nil {
		ips, verb = []netip.Addr{ip}, "is"
	} else {
		ips, err = s.lookup(ctx, host)
		if err != nil || len(ips) == 0 {
			return nil, refuse(http.StatusBadGateway, "dns-failed", ErrUpstream,
				"cannot resolve %s", host)
		}
	}

	policy := s.currentPolicy()
	var allowed []netip.AddrPort
	reason := ""
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap().WithZone(""), port)
		// Classify the address as resolved, before unmapping: a v4-mapped
		// answer is itself a refused form.
		if why := policy.check(netip.AddrPortFrom(ip, port)); why != "" {
			if reason == "" {
				reason = why
			}
			continue
		}
		allowed = append(allowed, ap)
	}
	if len(allowed) == 0 {
		return nil, refuse(http.StatusForbidden, "destination-refused", ErrDestinationRefused,
			"%s %s %s, which the exit node does not connect to", host, verb, reason)
	}
	return allowed, nil
}

func parsePort(s string) (uint16, error) {
	var p uint32
	if s == "" || len(s) > 5 {
		return 0, errors.New("bad port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("bad port")
		}
		p = p*10 + uint32(c-'0')
	}
	if p == 0 || p > 65535 {
		return 0, errors.New("bad port")
	}
	return uint16(p), nil
}

// isLocalAddr reports whether ip belongs to one of this machine's
// interfaces.
func isLocalAddr(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}
