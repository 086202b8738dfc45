package registry

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600))
	return certFile, keyFile
}

// TestServe covers Serve: free port, Ready URL, TLS, one debug log line
// per request, graceful shutdown on cancellation.
func TestServe(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		dir := t.TempDir()
		opts := ServeOptions{Addr: "127.0.0.1:0", Root: filepath.Join(dir, "data")}
		client := http.DefaultClient
		if useTLS {
			opts.TLSCertFile, opts.TLSKeyFile = selfSignedCert(t, dir)
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		}
		var logs syncBuffer
		opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		base, stop := startServe(t, opts)
		if want := map[bool]string{false: "http://", true: "https://"}[useTLS]; !strings.HasPrefix(base, want) {
			t.Fatalf("url %q", base)
		}
		resp, err := client.Get(base + "/v2/")
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("ping: %s", resp.Status)
		}
		stop()
		if !strings.Contains(logs.String(), "msg=request method=GET path=/v2/") {
			t.Errorf("no request log line:\n%s", logs.String())
		}
	}
}

// startServe runs Serve with opts and returns its base URL and a stop
// function that shuts it down and fails the test unless Serve returns nil
// within 15 seconds.
func startServe(t *testing.T, opts ServeOptions) (base string, stop func()) {
	t.Helper()
	urls := make(chan string, 1)
	opts.Ready = func(u string) { urls <- u }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, opts) }()
	select {
	case base = <-urls:
	case err := <-done:
		cancel()
		t.Fatalf("Serve: %v", err)
	}
	return base, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(15 * time.Second):
			t.Fatal("Serve did not shut down")
		}
	}
}
