package transport

import (
	"context"
	"net"
	"net/netip"
)

// Transport sends and receives whole datagrams. Implementations are safe for concurrent Send calls;
// Receive is meant for one reader (the node's receive loop) at a time.
type Transport interface {
	// Send transmits b to the given address. Like UDP it gives no delivery guarantee: a nil error
	// means the datagram left, not that it arrived.
	Send(ctx context.Context, to netip.AddrPort, b []byte) error
	// Receive blocks until a datagram arrives, ctx is done or the transport is closed. The returned
	// slice belongs to the caller.
	Receive(ctx context.Context) ([]byte, netip.AddrPort, error)
	// LocalAddr is the address peers send to.
	LocalAddr() netip.AddrPort
	// Close releases the transport; blocked and later calls return an error wrapping ErrClosed.
	Close() error
}

// ErrClosed is returned (wrapped) by a closed transport. It is net.ErrClosed, so errors.Is works with
// either name.
var ErrClosed = net.ErrClosed

// MaxDatagram is the largest datagram the transports receive: the UDP maximum. Matter itself keeps
// messages within the IPv6 minimum MTU (1280 bytes, §4.4.4); larger ones are still delivered so that
// a conformance harness can observe a peer that breaks the rule.
const MaxDatagram = 65535

// normalize unmaps IPv4-in-IPv6 addresses so that one peer has one address however it was learnt.
func normalize(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
