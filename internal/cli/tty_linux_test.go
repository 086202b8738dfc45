package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptm, pts
}

// TestSignCOSEToTerminal: a COSE envelope is binary; sign without -o on a
// terminal refuses (exit 2, naming -o) rather than garble it; redirected to
// a file, or with -o, it is written, and verifies.
func TestSignCOSEToTerminal(t *testing.T) {
	dir := t.TempDir()
	key, crt := keyPair(t, dir)
	_, tty := openPTY(t)
	var errOut bytes.Buffer
	code := Run(context.Background(), []string{"sign", "-k", key, "-c", crt, "--signature-format", "cose", layoutRef}, IOStreams{In: strings.NewReader(""), Out: tty, Err: &errOut})
	if want := "Error: a COSE signature is binary: it would garble the terminal; write it to a file with -o FILE (or redirect stdout)\n"; code != ExitUsage || errOut.String() != want {
		t.Errorf("cose to a terminal: exit %d, stderr %q; want %d, %q", code, errOut.String(), ExitUsage, want)
	}
	// A jws envelope is text: printed on the terminal as before.
	errOut.Reset()
	if code := Run(context.Background(), []string{"sign", "-k", key, "-c", crt, "--signature-format", "jws", layoutRef}, IOStreams{In: strings.NewReader(""), Out: tty, Err: &errOut}); code != 0 {
		t.Errorf("jws to a terminal: exit %d %s", code, errOut.String())
	}
	// Redirected to a file, or with -o: the envelope.
	f, err := os.Create(filepath.Join(dir, "sig.cose"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if code := Run(context.Background(), []string{"sign", "-k", key, "-c", crt, "--signature-format", "cose", layoutRef}, IOStreams{In: strings.NewReader(""), Out: f, Err: &errOut}); code != 0 {
		t.Errorf("cose to a file: exit %d %s", code, errOut.String())
	}
	if code, _, errOut := RunString(context.Background(), "", "verify", "-f", f.Name(), "-c", crt, layoutRef); code != 0 {
		t.Errorf("cose to a file: the file does not verify: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "sign", "-k", key, "-c", crt, "--signature-format", "cose", "-o", filepath.Join(dir, "o.cose"), layoutRef); code != 0 {
		t.Errorf("cose -o: exit %d %s", code, errOut)
	}
}
