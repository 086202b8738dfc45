package registry

import (
	"net"
	"net/http"
	"syscall"

	"golang.org/x/sys/unix"
)

// notSentLowat is the most a connection queues in the kernel beyond what
// the peer's window lets it send at once (TCP_NOTSENT_LOWAT): a blob
// download writes more only once the queue has drained below it.
//
// Without it a 256 KiB write queues up to the whole send buffer, and the
// client's acknowledgements transmit that backlog: on loopback the
// receiving process pays for sending the registry's data, and a client
// reading a 256 MiB blob was bound by that. Alternating runs on a 2-core
// machine: the client's CPU time per 256 MiB pull fell from 0.23-0.35 s to
// 0.15-0.22 s and the pull took 0.20-0.31 s instead of 0.29-0.46 s (disk
// and --memory alike); 64 KiB (about one loopback segment) beat 32, 48, 96,
// 128, 256 and 512 KiB.
const notSentLowat = 64 << 10

// tuneConn is the server's ConnState hook: it sets TCP_NOTSENT_LOWAT on
// each new connection (under TLS, on the TCP connection beneath).
func tuneConn(c net.Conn, st http.ConnState) {
	if st != http.StateNew {
		return
	}
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = nc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		// Best effort: without it downloads only cost the client more.
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, notSentLowat)
	})
}
