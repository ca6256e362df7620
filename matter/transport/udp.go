package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// UDP is a Transport over one UDP socket.
type UDP struct {
	conn  *net.UDPConn
	local netip.AddrPort

	rmu sync.Mutex // one Receive at a time: it owns buf and the read deadline
	buf []byte
}

// ListenUDP opens a UDP socket. network is "udp", "udp4" or "udp6"; addr is the local address, for
// example [::1]:0 or 127.0.0.1:5540 (port 0 picks a free port).
func ListenUDP(network string, addr netip.AddrPort) (*UDP, error) {
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s %s: %w", network, addr, err)
	}
	return &UDP{conn: conn, local: normalize(conn.LocalAddr().(*net.UDPAddr).AddrPort()), buf: make([]byte, MaxDatagram)}, nil
}

// LocalAddr implements Transport.
func (u *UDP) LocalAddr() netip.AddrPort { return u.local }

// Send implements Transport. A UDP send does not wait for the peer, so ctx is only checked first.
func (u *UDP) Send(ctx context.Context, to netip.AddrPort, b []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transport: send to %s: %w", to, err)
	}
	if _, err := u.conn.WriteToUDPAddrPort(b, normalize(to)); err != nil {
		return fmt.Errorf("transport: send %d bytes to %s: %w", len(b), to, err)
	}
	return nil
}

// aLongTimeAgo is a read deadline in the past: it wakes a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)

// Receive implements Transport. Cancelling ctx interrupts a blocked read through the read deadline.
func (u *UDP) Receive(ctx context.Context) ([]byte, netip.AddrPort, error) {
	u.rmu.Lock()
	defer u.rmu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", u.local, err)
	}
	if err := u.conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", u.local, err)
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		_ = u.conn.SetReadDeadline(aLongTimeAgo)
	})
	n, from, err := u.conn.ReadFromUDPAddrPort(u.buf)
	if !stop() {
		// The interrupt ran (or is running): let it finish before the next Receive clears the deadline.
		<-interrupted
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", u.local, ctx.Err())
		}
		return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", u.local, err)
	}
	return append([]byte(nil), u.buf[:n]...), normalize(from), nil
}

// Close implements Transport.
func (u *UDP) Close() error {
	if err := u.conn.Close(); err != nil {
		return fmt.Errorf("transport: close %s: %w", u.local, err)
	}
	return nil
}
