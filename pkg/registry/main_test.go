package registry

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// serveEnv makes the test binary act as `signet registry serve` (same
// flags), so the crash test can run and SIGKILL a real server process
// without depending on the rest of the CLI.
const serveEnv = "SIGNET_REGISTRY_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		os.Exit(serveMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func serveMain(args []string) int {
	if len(args) >= 2 && args[0] == "registry" && args[1] == "serve" {
		args = args[2:]
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", DefaultAddr, "")
	root := fs.String("root", "", "")
	memory := fs.Bool("memory", false, "")
	htpasswd := fs.String("htpasswd", "", "")
	noReferrers := fs.Bool("no-referrers", false, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Serve(ctx, ServeOptions{
		Addr: *addr, Root: *root, Memory: *memory || *root == "", HtpasswdFile: *htpasswd, NoReferrers: *noReferrers,
		Ready: func(url string) { fmt.Println(url) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
