package mrp

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

// Limits that keep a misbehaving peer from growing the node's state without bound.
const (
	defaultAcceptBacklog = 16 // unsolicited exchanges waiting for Accept
	inboxLimit           = 32 // received messages waiting for Exchange.Receive
	maxUnsecuredPeers    = 64 // responder-side unsecured sessions created by peers
)

// Config configures a Node.
type Config struct {
	// Transport carries the datagrams; the node owns it and closes it on Close.
	Transport transport.Transport
	// Rand drives every random choice of the node: retransmission jitter, exchange and session id
	// starts, ephemeral node ids and unsecured counters. nil seeds a generator from crypto/rand.
	// Tests pass a seeded generator to make schedules reproducible.
	Rand *rand.Rand
	// Logger receives debug logs (drops and their causes, retransmissions); nil logs nothing.
	Logger *slog.Logger
	// AcceptBacklog bounds unsolicited exchanges not yet taken by Accept; 0 means 16. When it is
	// full, new unsolicited messages are dropped unacknowledged so that the peer retries.
	AcceptBacklog int
}

// Stats counts what a node did since it started.
type Stats struct {
	Received        uint64 // datagrams read from the transport
	Delivered       uint64 // messages queued for Exchange.Receive
	Duplicates      uint64 // valid messages whose counter was already seen (acked if asked, not delivered)
	Dropped         uint64 // datagrams discarded: undecodable, unknown session, failed authentication, no room
	Retransmissions uint64 // transmissions after the first of a reliable message
	StandaloneAcks  uint64 // standalone acknowledgements sent
	Timeouts        uint64 // reliable messages given up after MaxTransmissions
}

type stats struct {
	received, delivered, duplicates, dropped, retransmissions, standaloneAcks, timeouts atomic.Uint64
}

// peerSession is a registered session with what the node knows of its peer.
type peerSession struct {
	s session.Session
	// sendMu makes sealing (which assigns the counter) and the first transmission one step, so
	// that messages leave in counter order: a message overtaken by 32 newer ones would be taken for
	// a duplicate by the peer's counter window (§4.6.5). Lock order: sendMu, then Exchange.mu.
	sendMu sync.Mutex
	// Guarded by Node.mu.
	addr   netip.AddrPort
	lastRx time.Time
}

type exchangeKey struct {
	ps        *peerSession
	id        uint16
	initiator bool // this node's role
}

type unsecuredKey struct {
	node uint64
	addr netip.AddrPort
}

// Node is one Matter node's messaging endpoint: a transport, sessions, exchanges and the receive
// goroutine that feeds them.
type Node struct {
	tr     transport.Transport
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool
	wg     sync.WaitGroup
	st     stats
	accept chan *Exchange

	rndMu sync.Mutex
	rnd   *rand.Rand

	unsecuredCounter *message.Counter

	mu             sync.Mutex
	closed         bool
	bySession      map[session.Session]*peerSession
	secure         map[uint16]*peerSession       // by local session id
	unsecuredInit  map[uint64]*peerSession       // by our ephemeral node id
	unsecuredResp  map[unsecuredKey]*peerSession // by the peer's ephemeral id and address
	exchanges      map[exchangeKey]*Exchange
	nextExchangeID uint16
	nextSessionID  uint16
	closeOnce      sync.Once
	closeErr       error
}

// NewNode starts a node on cfg.Transport. Its receive goroutine runs until Close is called or ctx
// ends (which closes the node).
func NewNode(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Transport == nil {
		return nil, errors.New("mrp: Config.Transport is nil")
	}
	rnd := cfg.Rand
	if rnd == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("mrp: seeding the random generator: %w", err)
		}
		rnd = rand.New(rand.NewChaCha8(seed))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backlog := cfg.AcceptBacklog
	if backlog <= 0 {
		backlog = defaultAcceptBacklog
	}
	n := &Node{
		tr: cfg.Transport, log: log, rnd: rnd,
		accept:        make(chan *Exchange, backlog),
		bySession:     map[session.Session]*peerSession{},
		secure:        map[uint16]*peerSession{},
		unsecuredInit: map[uint64]*peerSession{},
		unsecuredResp: map[unsecuredKey]*peerSession{},
		exchanges:     map[exchangeKey]*Exchange{},
	}
	var err error
	if n.unsecuredCounter, err = message.NewCounter(randReader{n}, message.Rollover); err != nil {
		return nil, fmt.Errorf("mrp: %w", err)
	}
	n.nextExchangeID = uint16(n.randUint64())
	n.nextSessionID = uint16(n.randUint64())
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.wg.Add(1)
	go n.receiveLoop()
	n.stop = context.AfterFunc(ctx, func() { _ = n.shutdown() })
	return n, nil
}

// randReader adapts the node's generator to io.Reader for the session constructors.
type randReader struct{ n *Node }

func (r randReader) Read(p []byte) (int, error) {
	r.n.rndMu.Lock()
	defer r.n.rndMu.Unlock()
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.n.rnd.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}

func (n *Node) randUint64() uint64 {
	n.rndMu.Lock()
	defer n.rndMu.Unlock()
	return n.rnd.Uint64()
}

func (n *Node) jitter() float64 {
	n.rndMu.Lock()
	defer n.rndMu.Unlock()
	return n.rnd.Float64()
}

// LocalAddr is the transport address peers reach this node at.
func (n *Node) LocalAddr() netip.AddrPort { return n.tr.LocalAddr() }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{
		Received: n.st.received.Load(), Delivered: n.st.delivered.Load(), Duplicates: n.st.duplicates.Load(),
		Dropped: n.st.dropped.Load(), Retransmissions: n.st.retransmissions.Load(),
		StandaloneAcks: n.st.standaloneAcks.Load(), Timeouts: n.st.timeouts.Load(),
	}
}

// NewUnsecuredSession creates and registers the initiator side of an unsecured session to peer
// (random ephemeral node id, the node's global unencrypted counter), for PASE or CASE.
func (n *Node) NewUnsecuredSession(peer netip.AddrPort) (*session.Unsecured, error) {
	u, err := session.NewUnsecuredInitiator(randReader{n}, n.unsecuredCounter)
	if err != nil {
		return nil, fmt.Errorf("mrp: %w", err)
	}
	if err := n.AddSession(u, peer); err != nil {
		return nil, err
	}
	return u, nil
}

// AllocSessionID returns a local session id (non-zero) that no registered session uses, for PASE and
// CASE to offer the peer. Ids are handed out sequentially from a random start, so two handshakes in
// progress do not get the same id.
func (n *Node) AllocSessionID() (uint16, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for range 1 << 16 {
		id := n.nextSessionID
		n.nextSessionID++
		if id != 0 && n.secure[id] == nil {
			return id, nil
		}
	}
	return 0, errors.New("mrp: all 65535 session ids are in use")
}

// AddSession registers a session whose peer is at addr: a *session.Secure from PASE/CASE (its local
// session id must be free) or a *session.Unsecured.
func (n *Node) AddSession(s session.Session, addr netip.AddrPort) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrNodeClosed
	}
	if n.bySession[s] != nil {
		return fmt.Errorf("mrp: %s is already registered", s)
	}
	ps := &peerSession{s: s, addr: addr}
	switch v := s.(type) {
	case *session.Secure:
		if n.secure[v.LocalSessionID()] != nil {
			return fmt.Errorf("mrp: local session id %d is already in use", v.LocalSessionID())
		}
		n.secure[v.LocalSessionID()] = ps
	case *session.Unsecured:
		if v.Role() == session.Initiator {
			if n.unsecuredInit[v.EphemeralNodeID()] != nil {
				return fmt.Errorf("mrp: ephemeral node id 0x%016X is already in use", v.EphemeralNodeID())
			}
			n.unsecuredInit[v.EphemeralNodeID()] = ps
		} else {
			k := unsecuredKey{v.EphemeralNodeID(), addr}
			if n.unsecuredResp[k] != nil {
				return fmt.Errorf("mrp: an unsecured session with node 0x%016X at %s exists", v.EphemeralNodeID(), addr)
			}
			n.unsecuredResp[k] = ps
		}
	default:
		return fmt.Errorf("mrp: unsupported session type %T", s)
	}
	n.bySession[s] = ps
	return nil
}

// RemoveSession unregisters s and aborts its exchanges (their calls return ErrSessionRemoved).
func (n *Node) RemoveSession(s session.Session) {
	n.mu.Lock()
	ps := n.bySession[s]
	if ps == nil {
		n.mu.Unlock()
		return
	}
	n.removeSessionLocked(ps)
	var victims []*Exchange
	for k, x := range n.exchanges {
		if k.ps == ps {
			victims = append(victims, x)
			delete(n.exchanges, k)
		}
	}
	n.mu.Unlock()
	for _, x := range victims {
		x.abort(ErrSessionRemoved, true)
	}
}

func (n *Node) removeSessionLocked(ps *peerSession) {
	delete(n.bySession, ps.s)
	switch v := ps.s.(type) {
	case *session.Secure:
		delete(n.secure, v.LocalSessionID())
	case *session.Unsecured:
		if v.Role() == session.Initiator {
			delete(n.unsecuredInit, v.EphemeralNodeID())
		} else {
			delete(n.unsecuredResp, unsecuredKey{v.EphemeralNodeID(), ps.addr})
		}
	}
}

// SessionPeer returns the address the node currently sends to for s.
func (n *Node) SessionPeer(s session.Session) (netip.AddrPort, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ps := n.bySession[s]
	if ps == nil {
		return netip.AddrPort{}, ErrUnknownSession
	}
	return ps.addr, nil
}

// NewExchange opens an exchange on s with this node as initiator. Exchange ids start at a random
// value and go up by one per exchange (§4.10).
func (n *Node) NewExchange(s session.Session) (*Exchange, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrNodeClosed
	}
	ps := n.bySession[s]
	if ps == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSession, s)
	}
	for range 1 << 16 {
		id := n.nextExchangeID
		n.nextExchangeID++
		k := exchangeKey{ps, id, true}
		if n.exchanges[k] == nil {
			x := newExchange(n, ps, id, true)
			n.exchanges[k] = x
			return x, nil
		}
	}
	return nil, fmt.Errorf("mrp: all exchange ids on %s are in use", s)
}

// Accept returns the next exchange a peer opened (its first message is waiting in Receive).
func (n *Node) Accept(ctx context.Context) (*Exchange, error) {
	select {
	case x := <-n.accept:
		return x, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("mrp: accept: %w", ctx.Err())
	case <-n.ctx.Done():
		return nil, ErrNodeClosed
	}
}

// Close stops the receive goroutine, flushes pending acks, aborts every exchange (ErrNodeClosed)
// and closes the transport. It is safe to call more than once.
func (n *Node) Close() error {
	n.stop()
	return n.shutdown()
}

func (n *Node) shutdown() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		var all []*Exchange
		for k, x := range n.exchanges {
			all = append(all, x)
			delete(n.exchanges, k)
		}
		n.mu.Unlock()
		for _, x := range all {
			x.abort(ErrNodeClosed, true)
		}
		n.cancel()
		n.wg.Wait()
		if err := n.tr.Close(); err != nil {
			n.closeErr = fmt.Errorf("mrp: closing the transport: %w", err)
		}
	})
	return n.closeErr
}

func (n *Node) receiveLoop() {
	defer n.wg.Done()
	for {
		b, from, err := n.tr.Receive(n.ctx)
		if err != nil {
			if n.ctx.Err() != nil || errors.Is(err, transport.ErrClosed) {
				return
			}
			n.log.Debug("mrp: transport receive failed", "err", err)
			// Do not spin on a persistent error.
			select {
			case <-time.After(10 * time.Millisecond):
			case <-n.ctx.Done():
				return
			}
			continue
		}
		n.handle(b, from)
	}
}

func (n *Node) drop(reason string, from netip.AddrPort, err error) {
	n.st.dropped.Add(1)
	n.log.Debug("mrp: dropped datagram", "reason", reason, "from", from, "err", err)
}

// handle processes one datagram: route it to a session, authenticate, then dispatch to an exchange.
func (n *Node) handle(b []byte, from netip.AddrPort) {
	n.st.received.Add(1)
	h, _, err := message.DecodeHeader(b)
	if err != nil {
		n.drop("undecodable message header", from, err)
		return
	}
	ps, fresh := n.route(&h, from)
	if ps == nil {
		n.drop("no session for the message", from, fmt.Errorf("session id %d, source %v 0x%X, destination kind %d", h.SessionID, h.HasSource, h.SourceNodeID, h.DestKind))
		return
	}
	m, dup, err := ps.s.Open(b)
	if err != nil {
		n.drop("session rejected the message", from, err)
		return
	}
	if fresh != nil {
		// A peer we do not know yet: only the first message of a new exchange creates a session.
		if !m.Protocol.Initiator || m.Protocol.IsStandaloneAck() || dup || !n.adoptUnsecured(ps, fresh) {
			n.drop("unsolicited unsecured message that opens no exchange", from, nil)
			return
		}
	}
	n.mu.Lock()
	ps.lastRx = time.Now()
	if !dup && ps.s.Secure() {
		// The peer may move: follow it, but only on authenticated, new messages (as CHIP does).
		ps.addr = from
	}
	n.mu.Unlock()
	n.dispatch(ps, m, dup)
}

// route finds the session a header addresses. For an unknown unsecured initiator it returns a new,
// not yet registered responder session and its key.
func (n *Node) route(h *message.Header, from netip.AddrPort) (*peerSession, *unsecuredKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h.SessionType != message.SessionUnicast {
		return nil, nil
	}
	if h.SessionID != 0 {
		return n.secure[h.SessionID], nil
	}
	switch {
	case h.HasSource && h.DestKind == message.DestNone:
		k := unsecuredKey{h.SourceNodeID, from}
		if ps := n.unsecuredResp[k]; ps != nil {
			return ps, nil
		}
		u, err := session.NewUnsecuredResponder(h.SourceNodeID, n.unsecuredCounter)
		if err != nil {
			return nil, nil
		}
		return &peerSession{s: u, addr: from}, &k
	case !h.HasSource && h.DestKind == message.DestNode:
		return n.unsecuredInit[h.DestNodeID], nil
	}
	return nil, nil
}

// adoptUnsecured registers a responder-side unsecured session a peer opened, evicting the least
// recently active idle one when there are too many.
func (n *Node) adoptUnsecured(ps *peerSession, k *unsecuredKey) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.unsecuredResp[*k] != nil {
		return false
	}
	if len(n.unsecuredResp) >= maxUnsecuredPeers {
		busy := map[*peerSession]bool{}
		for key := range n.exchanges {
			busy[key.ps] = true
		}
		var victim *peerSession
		for _, p := range n.unsecuredResp {
			if !busy[p] && (victim == nil || p.lastRx.Before(victim.lastRx)) {
				victim = p
			}
		}
		if victim == nil {
			return false
		}
		n.removeSessionLocked(victim)
	}
	n.unsecuredResp[*k] = ps
	n.bySession[ps.s] = ps
	return true
}

// dispatch applies the MRP receive rules (§4.12) to an authenticated message.
func (n *Node) dispatch(ps *peerSession, m message.Message, dup bool) {
	ph := &m.Protocol
	key := exchangeKey{ps, ph.ExchangeID, !ph.Initiator}
	n.mu.Lock()
	x := n.exchanges[key]
	n.mu.Unlock()

	if ph.HasAck && x != nil {
		x.onAck(ph.AckCounter)
	}
	if dup {
		n.st.duplicates.Add(1)
	}
	if x == nil {
		if !ph.Initiator || ph.IsStandaloneAck() || dup {
			// A message for an exchange we do not have (closed, or never ours): ack it if it asks,
			// so that the peer stops retransmitting (§4.12: ack on an ephemeral exchange).
			if ph.Reliable && !ph.IsStandaloneAck() {
				n.sendAck(ps, ph.ExchangeID, !ph.Initiator, m.Header.Counter)
			}
			return
		}
		n.acceptExchange(ps, key, m)
		return
	}
	if ph.IsStandaloneAck() {
		return
	}
	if dup {
		if ph.Reliable {
			x.ackNow(m.Header.Counter)
		}
		return
	}
	if !x.deliver(m) {
		n.drop("exchange inbox full or closed", ps.addr, fmt.Errorf("exchange %d", ph.ExchangeID))
		return
	}
	n.st.delivered.Add(1)
}

// acceptExchange creates a responder exchange for an unsolicited message and hands it to Accept.
// When the backlog is full the message is dropped unacknowledged, so that the peer retries later.
// The exchange is registered before Accept can return it, so that everything the application does
// with it afterwards (its reply, the peer's ack of that reply) finds it.
func (n *Node) acceptExchange(ps *peerSession, key exchangeKey, first message.Message) {
	x := newExchange(n, ps, key.id, false)
	x.deliver(first) // a fresh exchange has room
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		x.abort(ErrNodeClosed, false)
		return
	}
	n.exchanges[key] = x
	n.mu.Unlock()
	n.st.delivered.Add(1)
	select {
	case n.accept <- x:
	default:
		n.st.delivered.Add(^uint64(0))
		n.removeExchange(x)
		x.abort(ErrExchangeClosed, false) // forgets the owed ack: the peer must retry
		n.drop("accept backlog full", ps.addr, fmt.Errorf("unsolicited exchange %d", key.id))
	}
}

// sendAck sends a standalone acknowledgement of counter on exchange id (§4.12: StandaloneAck,
// A set, R not set, empty payload).
func (n *Node) sendAck(ps *peerSession, id uint16, initiator bool, counter uint32) {
	ph := message.ProtocolHeader{Initiator: initiator, HasAck: true, AckCounter: counter, ExchangeID: id,
		ProtocolID: message.ProtocolSecureChannel, Opcode: securechannel.OpStandaloneAck}
	ps.sendMu.Lock()
	defer ps.sendMu.Unlock()
	wire, _, err := ps.s.Seal(&ph, nil)
	if err != nil {
		n.log.Debug("mrp: cannot build a standalone ack", "exchange", id, "err", err)
		return
	}
	n.st.standaloneAcks.Add(1)
	// Acks also go out while the node shuts down, so they use a context that Close does not cancel.
	if err := n.tr.Send(context.WithoutCancel(n.ctx), n.peerAddr(ps), wire); err != nil {
		n.log.Debug("mrp: standalone ack not sent", "exchange", id, "err", err)
	}
}

func (n *Node) peerAddr(ps *peerSession) netip.AddrPort {
	n.mu.Lock()
	defer n.mu.Unlock()
	return ps.addr
}

// retransmitBase is the peer's active interval while it is active (a message from it within its
// active threshold), otherwise its idle interval (§4.12.8).
func (n *Node) retransmitBase(ps *peerSession) time.Duration {
	p := ps.s.PeerMRP()
	n.mu.Lock()
	last := ps.lastRx
	n.mu.Unlock()
	if !last.IsZero() && time.Since(last) < p.ActiveThreshold {
		return p.Active
	}
	return p.Idle
}

func (n *Node) removeExchange(x *Exchange) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := exchangeKey{x.ps, x.id, x.initiator}
	if n.exchanges[k] == x {
		delete(n.exchanges, k)
	}
}
