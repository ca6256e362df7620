package mrp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

// Exchange is one exchange (§4.10): a request/response conversation on a session, identified by the
// session, the exchange id and this node's role. Send and Receive may be called from different
// goroutines; concurrent Sends are serialised, since MRP allows one unacknowledged reliable message
// per exchange (§4.12).
type Exchange struct {
	n         *Node
	ps        *peerSession
	id        uint16
	initiator bool

	sendSem chan struct{} // holds a token while a Send is in progress
	notify  chan struct{} // signalled when the inbox grows
	done    chan struct{} // closed when the exchange ends

	mu       sync.Mutex
	closed   bool
	closeErr error
	inbox    []message.Message

	// Acknowledgement this node owes the peer.
	ackPending bool
	ackCounter uint32
	ackGen     uint64
	ackTimer   *time.Timer

	// Reliable message of this node waiting for the peer's acknowledgement.
	waiting     bool
	waitCounter uint32
	acked       chan struct{}
}

func newExchange(n *Node, ps *peerSession, id uint16, initiator bool) *Exchange {
	return &Exchange{n: n, ps: ps, id: id, initiator: initiator,
		sendSem: make(chan struct{}, 1), notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// ID is the exchange id.
func (x *Exchange) ID() uint16 { return x.id }

// Initiator reports whether this node opened the exchange.
func (x *Exchange) Initiator() bool { return x.initiator }

// Session is the session the exchange runs on.
func (x *Exchange) Session() session.Session { return x.ps.s }

// Peer is the address messages of the exchange go to.
func (x *Exchange) Peer() netip.AddrPort { return x.n.peerAddr(x.ps) }

func (x *Exchange) String() string {
	return fmt.Sprintf("exchange %d (%s) on %s", x.id, roleName(x.initiator), x.ps.s)
}

// Send sends a reliable message (R flag set) carrying protocol p, opcode op and payload, with any
// acknowledgement this node owes on the exchange piggybacked, and returns once the peer has
// acknowledged it. Unacknowledged, the identical bytes are retransmitted after Backoff intervals;
// after MaxTransmissions Send returns a *TimeoutError (errors.Is ErrAckTimeout). The exchange stays
// open after a timeout; close it.
func (x *Exchange) Send(ctx context.Context, p message.ProtocolID, op uint8, payload []byte) error {
	select {
	case x.sendSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: send %s: %w", x, message.OpName(p, op), ctx.Err())
	case <-x.done:
		return x.endErr()
	}
	defer func() { <-x.sendSem }()

	ph := message.ProtocolHeader{Initiator: x.initiator, Reliable: true, Opcode: op, ExchangeID: x.id, ProtocolID: p}
	x.ps.sendMu.Lock()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		x.ps.sendMu.Unlock()
		return x.endErr()
	}
	if x.ackPending {
		ph.HasAck, ph.AckCounter = true, x.ackCounter
	}
	wire, counter, err := x.ps.s.Seal(&ph, payload)
	if err != nil {
		x.mu.Unlock()
		x.ps.sendMu.Unlock()
		return fmt.Errorf("%s: send %s: %w", x, message.OpName(p, op), err)
	}
	if ph.HasAck {
		x.clearAckLocked() // the ack rides on this message
	}
	acked := make(chan struct{})
	x.waiting, x.waitCounter, x.acked = true, counter, acked
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		if x.acked == acked {
			x.waiting = false
		}
		x.mu.Unlock()
	}()

	start := time.Now()
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			x.n.st.retransmissions.Add(1)
			x.n.log.Debug("mrp: retransmission", "exchange", x.id, "op", message.OpName(p, op), "counter", counter, "attempt", attempt)
		}
		err := x.n.tr.Send(ctx, x.Peer(), wire)
		if attempt == 1 {
			x.ps.sendMu.Unlock()
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, transport.ErrClosed) {
				return fmt.Errorf("%s: send %s: %w", x, message.OpName(p, op), err)
			}
			// Any other send failure is a lost datagram as far as MRP is concerned.
			x.n.log.Debug("mrp: transmission failed", "exchange", x.id, "err", err)
		}
		wait := Backoff(x.n.retransmitBase(x.ps), attempt-1, x.n.jitter())
		t := time.NewTimer(wait)
		select {
		case <-acked:
			t.Stop()
			return nil
		case <-t.C:
			if attempt == MaxTransmissions {
				x.n.st.timeouts.Add(1)
				return &TimeoutError{ExchangeID: x.id, Initiator: x.initiator, Session: x.ps.s.String(),
					ProtocolID: p, Opcode: op, Counter: counter, Attempts: attempt, Elapsed: time.Since(start)}
			}
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: waiting for the ack of %s: %w", x, message.OpName(p, op), ctx.Err())
		case <-x.done:
			t.Stop()
			return x.endErr()
		}
	}
}

// Receive returns the next message the peer sent on the exchange, in arrival order, each at most
// once. Standalone acks are consumed by the exchange and never returned.
func (x *Exchange) Receive(ctx context.Context) (message.Message, error) {
	for {
		x.mu.Lock()
		if x.closed {
			x.mu.Unlock()
			return message.Message{}, x.endErr()
		}
		if len(x.inbox) > 0 {
			m := x.inbox[0]
			x.inbox[0] = message.Message{}
			x.inbox = x.inbox[1:]
			x.mu.Unlock()
			return m, nil
		}
		x.mu.Unlock()
		select {
		case <-x.notify:
		case <-ctx.Done():
			return message.Message{}, fmt.Errorf("%s: receive: %w", x, ctx.Err())
		case <-x.done:
		}
	}
}

// Close ends the exchange: an acknowledgement still owed is sent at once, a Send in progress returns
// ErrExchangeClosed, and later messages of the peer on this exchange are only acknowledged.
func (x *Exchange) Close() error {
	x.n.removeExchange(x)
	x.abort(ErrExchangeClosed, true)
	return nil
}

// abort ends the exchange with err; with flush, an owed acknowledgement is sent first.
func (x *Exchange) abort(err error, flush bool) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	x.closed, x.closeErr = true, err
	owed, counter := x.ackPending, x.ackCounter
	x.clearAckLocked()
	x.inbox = nil
	close(x.done)
	x.mu.Unlock()
	if owed && flush {
		x.n.sendAck(x.ps, x.id, x.initiator, counter)
	}
}

func (x *Exchange) endErr() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closeErr == nil {
		return fmt.Errorf("%s: %w", x, ErrExchangeClosed)
	}
	return fmt.Errorf("%s: %w", x, x.closeErr)
}

// deliver queues a received message for Receive and, if it asks for an ack, records the ack as
// owed in the same step, so that a reply sent as soon as Receive returns carries it. An ack still owed
// for an earlier message is sent at once, since only one can ride on a message (§4.12). It returns
// false, owing nothing, when the inbox is full or the exchange ended.
func (x *Exchange) deliver(m message.Message) bool {
	x.mu.Lock()
	if x.closed || len(x.inbox) >= inboxLimit {
		x.mu.Unlock()
		return false
	}
	x.inbox = append(x.inbox, m)
	prev, prevCounter := x.ackPending, x.ackCounter
	if m.Protocol.Reliable {
		x.clearAckLocked()
		x.ackPending, x.ackCounter = true, m.Header.Counter
		gen := x.ackGen
		x.ackTimer = time.AfterFunc(StandaloneAckTimeout, func() { x.flushAck(gen) })
	} else {
		prev = false
	}
	select {
	case x.notify <- struct{}{}:
	default:
	}
	x.mu.Unlock()
	if prev {
		x.n.sendAck(x.ps, x.id, x.initiator, prevCounter)
	}
	return true
}

// onAck resolves the waiting Send if counter acknowledges its message.
func (x *Exchange) onAck(counter uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.waiting && x.waitCounter == counter {
		x.waiting = false
		close(x.acked)
	}
}

// ackNow acknowledges a duplicate at once (the peer evidently missed our ack).
func (x *Exchange) ackNow(counter uint32) {
	x.mu.Lock()
	if x.ackPending && x.ackCounter == counter {
		x.clearAckLocked()
	}
	x.mu.Unlock()
	x.n.sendAck(x.ps, x.id, x.initiator, counter)
}

// flushAck is the standalone-ack timer: it sends the owed ack unless a message carried it since.
func (x *Exchange) flushAck(gen uint64) {
	x.mu.Lock()
	if !x.ackPending || x.ackGen != gen {
		x.mu.Unlock()
		return
	}
	counter := x.ackCounter
	x.clearAckLocked()
	x.mu.Unlock()
	x.n.sendAck(x.ps, x.id, x.initiator, counter)
}

// clearAckLocked forgets the owed ack and invalidates its timer.
func (x *Exchange) clearAckLocked() {
	x.ackPending = false
	x.ackGen++
	if x.ackTimer != nil {
		x.ackTimer.Stop()
		x.ackTimer = nil
	}
}
