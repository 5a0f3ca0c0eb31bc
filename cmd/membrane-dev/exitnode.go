package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/membrane-dev/membrane-dev/exitnode"
	"github.com/spf13/cobra"
)

func init() {
	var (
		cfg      exitnode.Config
		envNames []string
	)
	cmd := &cobra.Command{
		Use:   "exit-node",
		Short: "Run an egress proxy whose transformer may rewrite requests",
		Long: `Run an exit node: an HTTP forward proxy for programs' outgoing requests.

Clients authenticate with the token in --token-file (created with a random
token the first time), sent as "Proxy-Authorization: Bearer TOKEN". A
transformer (an executable, or a .js or .ts file run in the embedded engine)
may rewrite each request, for example to add a credential. Destinations on
loopback, private, link-local, CGNAT, multicast and unspecified addresses are
refused unless --allow-private is given. One JSON access-log line per request
goes to standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.TransformerEnv = envNames
			return runExitNode(cmd, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", exitnode.DefaultListen, "address to listen on, HOST:PORT")
	f.StringVar(&cfg.Transformer, "transformer", "",
		"executable, or .js/.ts file, that rewrites each request")
	f.StringArrayVar(&envNames, "transformer-env", nil,
		"environment variable a .js/.ts transformer sees in ctx.env (repeatable); "+
			"an executable inherits the whole environment")
	f.BoolVar(&cfg.TransformerWorker, "transformer-worker", false,
		"keep an executable transformer running: one JSON request a line in, one a line out")
	f.StringVar(&cfg.TokenFile, "token-file", "",
		"file holding the token clients must send (default: in the user config directory)")
	f.BoolVar(&cfg.AllowPrivate, "allow-private", false,
		"allow loopback, private and link-local destinations, for local work")
	root.AddCommand(cmd)
}

func runExitNode(cmd *cobra.Command, cfg exitnode.Config) error {
	if cfg.Listen == "" {
		return usagef("--listen needs an address, such as %s", exitnode.DefaultListen)
	}
	stderr := cmd.ErrOrStderr()
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	cfg.TransformerStderr = stderr

	srv, err := exitnode.New(cfg)
	if err != nil {
		return err
	}
	if srv.TokenCreated() {
		fmt.Fprintf(stderr, "created a new exit node token in %s\n", srv.TokenPath())
	} else if info, err := os.Stat(srv.TokenPath()); err == nil && info.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "warning: token file %s can be read by other users; chmod 600 it\n",
			srv.TokenPath())
	}
	ln, err := srv.Listen()
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(cmd.OutOrStdout(), "exit node listening on http://%s (token in %s)\n",
		ln.Addr(), srv.TokenPath())
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
