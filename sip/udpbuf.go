package sip

import (
	"net"
	"syscall"
)

// enlargeUDPBuffer asks for want bytes of receive buffer. SetReadBuffer is
// capped by net.core.rmem_max; when that leaves it short, SO_RCVBUFFORCE
// (allowed with CAP_NET_ADMIN) lifts the cap. It returns the size the
// kernel reports (which counts its bookkeeping, about twice the request).
func enlargeUDPBuffer(conn *net.UDPConn, want int) (int, error) {
	if err := conn.SetReadBuffer(want); err != nil {
		return 0, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	var serr error
	cerr := raw.Control(func(fd uintptr) {
		got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if serr == nil && got < want {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, want) == nil {
				got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
			}
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	return got, serr
}
