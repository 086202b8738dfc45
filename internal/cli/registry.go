package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/registry"
)

func newRegistryCmd(streams IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Run signet's embedded OCI registry (for local use, tests and demos)",
	}
	cmd.AddCommand(newRegistryServeCmd(streams))
	return groupCmd(cmd)
}

type registryServeOptions struct {
	Addr        string
	Root        string
	Memory      bool
	Htpasswd    string
	TLSCert     string
	TLSKey      string
	Debug       bool
	NoReferrers bool
}

func newRegistryServeCmd(streams IOStreams) *cobra.Command {
	opts := &registryServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve an OCI distribution-spec 1.1 registry with the prototype links extension",
		Long: `Serve an OCI distribution-spec v1.1 registry, with the referrers API and the
2021 prototype's links extension (GET /v2/_ext/oci-artifacts/v1/<name>/manifests/<ref>/links).

It binds 127.0.0.1 unless told otherwise. Storage is a directory (--root) whose
writes are verified and atomic, or memory (--memory). The address it serves on
is printed on stdout once it is ready (useful with --addr 127.0.0.1:0).
SIGINT or SIGTERM shut it down gracefully. See docs/registry.md.`,
		Example: `  signet registry serve --memory
  signet registry serve --addr 127.0.0.1:5000 --root ./registry-data
  signet registry serve --memory --no-referrers   # test the referrers tag fallback
  signet registry serve --htpasswd ./htpasswd --tls-cert server.crt --tls-key server.key`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRegistryServe(cmd, opts, streams)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:5000", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&opts.Root, "root", "", "directory holding the registry's data (created if missing)")
	f.BoolVar(&opts.Memory, "memory", false, "keep everything in memory (lost on exit)")
	f.StringVar(&opts.Htpasswd, "htpasswd", "", "require basic auth, checked against this htpasswd file (bcrypt entries)")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&opts.TLSKey, "tls-key", "", "private key for --tls-cert (PEM)")
	f.BoolVar(&opts.NoReferrers, "no-referrers", false, "serve no referrers API, like registries that lack it: clients use the sha256-<hex> tag fallback")
	f.BoolVar(&opts.Debug, "debug", false, "log one line per request to stderr")
	cmd.MarkFlagsMutuallyExclusive("root", "memory")
	cmd.MarkFlagsRequiredTogether("tls-cert", "tls-key")
	return cmd
}

func runRegistryServe(cmd *cobra.Command, opts *registryServeOptions, streams IOStreams) error {
	level := slog.LevelInfo
	if opts.Debug {
		level = slog.LevelDebug
	}
	if _, port, err := net.SplitHostPort(opts.Addr); err != nil || !validPort(port) {
		return errdef.Usage(fmt.Errorf("--addr %q: give host:port with a port from 0 to 65535, e.g. 127.0.0.1:5000 (port 0 picks a free one)", opts.Addr))
	}
	for _, in := range []struct{ what, path string }{{"htpasswd file", opts.Htpasswd}, {"TLS certificate", opts.TLSCert}, {"TLS key", opts.TLSKey}} {
		if in.path == "" {
			continue
		}
		if _, err := os.Stat(in.path); err != nil {
			return missingInput(in.what, in.path, err)
		}
	}
	logger := slog.New(slog.NewTextHandler(streams.Err, &slog.HandlerOptions{Level: level}))
	err := registry.Serve(cmd.Context(), registry.ServeOptions{
		Addr:         opts.Addr,
		Root:         opts.Root,
		Memory:       opts.Memory || opts.Root == "",
		HtpasswdFile: opts.Htpasswd,
		TLSCertFile:  opts.TLSCert,
		TLSKeyFile:   opts.TLSKey,
		NoReferrers:  opts.NoReferrers,
		Logger:       logger,
		Ready: func(url string) {
			fmt.Fprintln(streams.Out, url)
		},
	})
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the address is in use (another registry?); stop what listens there, or pick another --addr (127.0.0.1:0 picks a free port and prints it)", opts.Addr)
	}
	return err
}

// validPort reports whether p is a port number, 0 to 65535.
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}
