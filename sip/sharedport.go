package sip

import (
	"fmt"
	"net"
)

// SharedPort makes "host:0" concrete, so SIP over UDP and TCP share one port
// (peers expect both on the same one). It picks a port free for both.
func SharedPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--sip-addr %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	for range 20 {
		tl, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", fmt.Errorf("--sip-addr %q: %w", addr, err)
		}
		p := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort(host, fmt.Sprint(p)))
		tl.Close()
		if err == nil {
			ul.Close()
			return net.JoinHostPort(host, fmt.Sprint(p)), nil
		}
	}
	return "", fmt.Errorf("--sip-addr %q: no port free for both UDP and TCP", addr)
}
