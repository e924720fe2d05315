package server

import (
	"fmt"
	"net"
)

// publicHostPort is the API's host:port as peers should see it, for the
// callUrl and mediaUrl fields when --public-url is not set.
func publicHostPort(a net.Addr, fallbackHost string) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = fallbackHost
	}
	return net.JoinHostPort(host, fmt.Sprint(ta.Port))
}
