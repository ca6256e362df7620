package transport

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

// memQueue is how many datagrams an in-memory endpoint buffers; like a socket buffer, a full queue
// drops further datagrams.
const memQueue = 512

// MemNetwork is an in-memory datagram network: endpoints with addresses and an optional Link that
// every datagram passes. It has no goroutines of its own and works inside testing/synctest bubbles.
type MemNetwork struct {
	mu      sync.Mutex
	eps     map[netip.AddrPort]*Mem
	next    uint32
	link    *Link
	dropped atomic.Int64
}

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork { return &MemNetwork{eps: map[netip.AddrPort]*Mem{}} }

// Listen attaches an endpoint. The zero address picks the next free [fd00::n]:5540.
func (n *MemNetwork) Listen(addr netip.AddrPort) (*Mem, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !addr.IsValid() {
		for {
			n.next++
			a := netip.AddrFrom16([16]byte{0: 0xfd, 12: byte(n.next >> 24), 13: byte(n.next >> 16), 14: byte(n.next >> 8), 15: byte(n.next)})
			addr = netip.AddrPortFrom(a, 5540)
			if n.eps[addr] == nil {
				break
			}
		}
	}
	addr = normalize(addr)
	if n.eps[addr] != nil {
		return nil, fmt.Errorf("transport: in-memory address %s already in use", addr)
	}
	m := &Mem{net: n, addr: addr, in: make(chan datagram, memQueue), done: make(chan struct{})}
	n.eps[addr] = m
	return m, nil
}

// Impair makes every later datagram on the network pass a new Link with cfg.
func (n *MemNetwork) Impair(cfg LossConfig) (*Link, error) {
	l, err := NewLink(cfg)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.link = l
	n.mu.Unlock()
	return l, nil
}

// Dropped counts datagrams lost for want of a receiver: unknown address, closed endpoint, full
// queue. Datagrams a Link drops are counted in its LinkStats.
func (n *MemNetwork) Dropped() int64 { return n.dropped.Load() }

func (n *MemNetwork) route(from, to netip.AddrPort, b []byte) {
	n.mu.Lock()
	dst, link := n.eps[to], n.link
	n.mu.Unlock()
	deliver := func(p []byte) {
		if dst == nil || !dst.push(datagram{b: p, from: from}) {
			n.dropped.Add(1)
		}
	}
	if link != nil {
		link.Forward(from, to, b, deliver)
		return
	}
	deliver(b)
}

// Pipe returns two connected endpoints on a fresh network.
func Pipe() (a, b *Mem) {
	n := NewMemNetwork()
	a, _ = n.Listen(netip.AddrPort{})
	b, _ = n.Listen(netip.AddrPort{})
	return a, b
}

// LossyPipe returns two endpoints joined by a lossy Link with cfg.
func LossyPipe(cfg LossConfig) (a, b *Mem, link *Link, err error) {
	n := NewMemNetwork()
	if link, err = n.Impair(cfg); err != nil {
		return nil, nil, nil, err
	}
	a, _ = n.Listen(netip.AddrPort{})
	b, _ = n.Listen(netip.AddrPort{})
	return a, b, link, nil
}

type datagram struct {
	b    []byte
	from netip.AddrPort
}

// Mem is an endpoint of a MemNetwork; it implements Transport.
type Mem struct {
	net  *MemNetwork
	addr netip.AddrPort
	in   chan datagram

	closeOnce sync.Once
	mu        sync.RWMutex // push holds it shared so that Close cannot race a send on in
	closed    bool
	done      chan struct{}
}

// LocalAddr implements Transport.
func (m *Mem) LocalAddr() netip.AddrPort { return m.addr }

// Send implements Transport. The datagram is copied; delivery never blocks the sender.
func (m *Mem) Send(ctx context.Context, to netip.AddrPort, b []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transport: send to %s: %w", to, err)
	}
	select {
	case <-m.done:
		return fmt.Errorf("transport: send from %s: %w", m.addr, ErrClosed)
	default:
	}
	m.net.route(m.addr, normalize(to), append([]byte(nil), b...))
	return nil
}

func (m *Mem) push(d datagram) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return false
	}
	select {
	case m.in <- d:
		return true
	default:
		return false
	}
}

// Receive implements Transport.
func (m *Mem) Receive(ctx context.Context) ([]byte, netip.AddrPort, error) {
	select {
	case <-m.done:
		return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", m.addr, ErrClosed)
	default:
	}
	select {
	case d := <-m.in:
		return d.b, d.from, nil
	case <-ctx.Done():
		return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", m.addr, ctx.Err())
	case <-m.done:
		return nil, netip.AddrPort{}, fmt.Errorf("transport: receive on %s: %w", m.addr, ErrClosed)
	}
}

// Close implements Transport and frees the address.
func (m *Mem) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.done)
		m.net.mu.Lock()
		if m.net.eps[m.addr] == m {
			delete(m.net.eps, m.addr)
		}
		m.net.mu.Unlock()
	})
	return nil
}
