package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// UDPRelay is a lossy UDP middlebox for integration tests: a client sends to Addr(), the relay
// forwards through a Link to the upstream address, and the upstream's replies go back through the
// same Link to the client (the last address that sent to the relay; one client at a time).
type UDPRelay struct {
	front    *net.UDPConn // faces the client
	back     *net.UDPConn // faces the upstream
	addr     netip.AddrPort
	backAddr netip.AddrPort
	upstream netip.AddrPort
	link     *Link
	log      *slog.Logger

	mu     sync.Mutex
	client netip.AddrPort

	wg        sync.WaitGroup
	stopCtx   func() bool
	closeOnce sync.Once
}

// NewUDPRelay listens on listen (e.g. [::1]:0) and relays to upstream through a Link with cfg. Its
// two goroutines stop when ctx is done or Close is called. log may be nil.
func NewUDPRelay(ctx context.Context, listen, upstream netip.AddrPort, cfg LossConfig, log *slog.Logger) (*UDPRelay, error) {
	link, err := NewLink(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	front, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(listen))
	if err != nil {
		return nil, fmt.Errorf("transport: relay listen %s: %w", listen, err)
	}
	// The upstream side binds to the loopback of the upstream's family when the upstream is local,
	// so a relay in a test never listens on external interfaces.
	var backLocal netip.Addr
	switch up := upstream.Addr().Unmap(); {
	case up.IsLoopback():
		backLocal = up
	case up.Is4():
		backLocal = netip.IPv4Unspecified()
	default:
		backLocal = netip.IPv6Unspecified()
	}
	back, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(backLocal, 0)))
	if err != nil {
		front.Close()
		return nil, fmt.Errorf("transport: relay upstream socket: %w", err)
	}
	r := &UDPRelay{front: front, back: back, upstream: normalize(upstream), link: link, log: log,
		addr:     normalize(front.LocalAddr().(*net.UDPAddr).AddrPort()),
		backAddr: normalize(back.LocalAddr().(*net.UDPAddr).AddrPort())}
	r.wg.Add(2)
	go r.pump(r.front, true)
	go r.pump(r.back, false)
	r.stopCtx = context.AfterFunc(ctx, r.shutdown)
	log.Debug("lossy relay started", "addr", r.addr, "upstream", r.upstream, "config", cfg.String())
	return r, nil
}

// Addr is where clients send.
func (r *UDPRelay) Addr() netip.AddrPort { return r.addr }

// Stats returns the link's counts over both directions.
func (r *UDPRelay) Stats() LinkStats { return r.link.Stats() }

func (r *UDPRelay) pump(conn *net.UDPConn, fromClient bool) {
	defer r.wg.Done()
	buf := make([]byte, MaxDatagram)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Debug("lossy relay read", "err", err)
			continue
		}
		from = normalize(from)
		b := append([]byte(nil), buf[:n]...)
		if fromClient {
			r.mu.Lock()
			r.client = from
			r.mu.Unlock()
			r.link.Forward(from, r.upstream, b, func(p []byte) { r.write(r.back, r.upstream, p) })
			continue
		}
		if from != r.upstream {
			r.log.Debug("lossy relay: datagram from a stranger ignored", "from", from)
			continue
		}
		r.mu.Lock()
		client := r.client
		r.mu.Unlock()
		if client.IsValid() {
			r.link.Forward(from, client, b, func(p []byte) { r.write(r.front, client, p) })
		}
	}
}

func (r *UDPRelay) write(conn *net.UDPConn, to netip.AddrPort, b []byte) {
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil && !errors.Is(err, net.ErrClosed) {
		r.log.Debug("lossy relay write", "to", to, "err", err)
	}
}

// Close stops the relay and waits for its goroutines.
func (r *UDPRelay) Close() error {
	r.stopCtx()
	r.shutdown()
	return nil
}

func (r *UDPRelay) shutdown() {
	r.closeOnce.Do(func() {
		r.link.Close()
		r.front.Close()
		r.back.Close()
	})
	r.wg.Wait()
}
