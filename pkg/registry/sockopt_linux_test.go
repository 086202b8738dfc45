package registry

import (
	"crypto/tls"
	"net"
	"net/http"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func notSentLowatOf(t *testing.T, c net.Conn) int {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	must(t, err)
	var v int
	var gerr error
	must(t, rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT) }))
	must(t, gerr)
	return v
}

// TestTuneConn: a new connection, plain or under TLS, gets
// TCP_NOTSENT_LOWAT; other state changes leave it alone.
func TestTuneConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	conn := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		must(t, err)
		t.Cleanup(func() { c.Close() })
		s := <-accepted
		t.Cleanup(func() { s.Close() })
		return s
	}

	s := conn()
	if v := notSentLowatOf(t, s); v == notSentLowat {
		t.Fatalf("TCP_NOTSENT_LOWAT is %d before tuneConn: the test cannot tell", v)
	}
	tuneConn(s, http.StateActive)
	if v := notSentLowatOf(t, s); v == notSentLowat {
		t.Fatal("tuneConn changed a connection that is not new")
	}
	tuneConn(s, http.StateNew)
	if v := notSentLowatOf(t, s); v != notSentLowat {
		t.Fatalf("TCP_NOTSENT_LOWAT %d, want %d", v, notSentLowat)
	}

	s = conn()
	tuneConn(tls.Server(s, &tls.Config{}), http.StateNew)
	if v := notSentLowatOf(t, s); v != notSentLowat {
		t.Fatalf("under TLS: TCP_NOTSENT_LOWAT %d, want %d", v, notSentLowat)
	}
}
