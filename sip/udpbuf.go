package sip

import (
	"net"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

func init() {
	// sipgo reads datagrams into 32 KiB and will not send a message over
	// 1,300 bytes on UDP, so an INVITE with many Vias or Record-Routes got no
	// answer. Read any datagram UDP can carry, and send large answers on UDP
	// anyway (IP fragmentation carries them); a peer that cannot take them
	// uses TCP. sipgo reads these before any transport runs, hence init.
	sip.TransportBufferReadSize = 65535
	sip.UDPMTUSize = 65535 + 200
}

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
