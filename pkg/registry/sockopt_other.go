//go:build !linux

package registry

import (
	"net"
	"net/http"
)

// tuneConn: TCP_NOTSENT_LOWAT is set on Linux only (sockopt_linux.go),
// where it was measured.
func tuneConn(net.Conn, http.ConnState) {}
