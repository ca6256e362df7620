package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrCounterExhausted is returned by Counter.Next when a counter without rollover reaches 2^32-1:
// §4.6.1: the keys of a unicast session must not be used past that, the session must be replaced.
var ErrCounterExhausted = errors.New("message counter exhausted (2^32-1 reached, no rollover on unicast sessions)")

// ErrDuplicate is returned by ReceiveWindow.Accept for a counter already seen or, on a secure unicast
// session, too far behind the window to tell (§4.6.5). Such a message is acknowledged if it asked for
// it, but never delivered again.
var ErrDuplicate = errors.New("duplicate message counter")

// CounterPolicy says what a counter does at the end of its range.
type CounterPolicy uint8

const (
	// NoRollover is the policy of secure unicast session counters (§4.6.1).
	NoRollover CounterPolicy = iota
	// Rollover is the policy of the global unencrypted counter (and group counters): wrap to 0.
	Rollover
)

// counterStartMask keeps 28 random bits; §4.6.1.1: initial value = Crypto_DRBG(28 bits) + 1,
// so the first counter is in [1, 2^28].
const counterStartMask = 1<<28 - 1

// Counter is an outbound message counter. It is safe for concurrent use.
type Counter struct {
	mu     sync.Mutex
	next   uint32
	policy CounterPolicy
	done   bool
}

// NewCounter returns a counter whose first value is random in [1, 2^28], read from r
// (crypto/rand.Reader in production, a seeded source in tests).
func NewCounter(r io.Reader, p CounterPolicy) (*Counter, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("message counter: reading random start: %w", err)
	}
	return NewCounterAt(binary.LittleEndian.Uint32(b[:])&counterStartMask+1, p), nil
}

// NewCounterAt returns a counter whose first value is start (for resumption and tests).
func NewCounterAt(start uint32, p CounterPolicy) *Counter {
	return &Counter{next: start, policy: p}
}

// Next returns the counter for a new message. Retransmissions reuse the counter of the original.
func (c *Counter) Next() (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || (c.policy == NoRollover && c.next == 0xFFFFFFFF) {
		c.done = true
		return 0, ErrCounterExhausted
	}
	v := c.next
	c.next++
	return v, nil
}

// WindowSize is the number of counters the receive window tracks (MSG_COUNTER_WINDOW_SIZE, §4.6.5):
// the maximum counter and the 31 below it.
const WindowSize = 32

// WindowPolicy selects the duplicate-detection rules of a ReceiveWindow.
type WindowPolicy uint8

const (
	// WindowSecureUnicast: the peer counter was synchronised at session establishment (max = 0, so
	// any counter > 0 is new); no rollover; counters at or below max-32 are rejected as duplicates.
	WindowSecureUnicast WindowPolicy = iota
	// WindowUnsecured: trust the first counter seen, compare modulo 2^32, and accept a counter far
	// behind the window as new (the peer restarted), resetting the window (§4.6.5, unencrypted).
	WindowUnsecured
)

// ReceiveWindow detects duplicate message counters: the maximum counter seen and a bitmap of the
// counters just below it. The zero value is a secure unicast window. It is not safe for concurrent
// use; the session that owns it serialises access.
type ReceiveWindow struct {
	policy WindowPolicy
	synced bool
	max    uint32
	// bits: bit k set means counter max-(k+1) was seen.
	bits uint32
}

// NewReceiveWindow returns an empty window with policy p.
func NewReceiveWindow(p WindowPolicy) ReceiveWindow { return ReceiveWindow{policy: p} }

// Max returns the highest counter accepted so far (0 before the first on a secure session).
func (w *ReceiveWindow) Max() uint32 { return w.max }

// Accept records counter c and returns nil if it is new, or an error wrapping ErrDuplicate that says
// why (it does not repeat c).
func (w *ReceiveWindow) Accept(c uint32) error {
	if w.policy == WindowUnsecured {
		return w.acceptRollover(c)
	}
	if c > w.max {
		w.advance(c - w.max)
		w.max = c
		return nil
	}
	return w.markBehind(c, w.max-c, true)
}

func (w *ReceiveWindow) acceptRollover(c uint32) error {
	if !w.synced {
		w.synced, w.max, w.bits = true, c, 0
		return nil
	}
	if d := c - w.max; d != 0 && d < 1<<31 {
		w.advance(d)
		w.max = c
		return nil
	}
	return w.markBehind(c, w.max-c, false)
}

// advance shifts the window forward by d counters, the old max becoming a seen entry.
func (w *ReceiveWindow) advance(d uint32) {
	if d >= WindowSize {
		w.bits = 0
		return
	}
	w.bits = w.bits<<d | 1<<(d-1)
}

// The duplicate causes, preallocated: duplicates are routine (every retransmission whose ack was
// lost) and the receive path should not allocate for them. Callers add the counter value.
var (
	errDupMax    = fmt.Errorf("%w (equals the maximum seen)", ErrDuplicate)
	errDupWindow = fmt.Errorf("%w (already seen inside the window)", ErrDuplicate)
	errDupBehind = fmt.Errorf("%w (behind the %d-entry window: at or below max-%d)", ErrDuplicate, WindowSize, WindowSize)
)

// markBehind handles a counter offset below max (offset 0 is max itself).
func (w *ReceiveWindow) markBehind(c, offset uint32, strict bool) error {
	switch {
	case offset == 0:
		return errDupMax
	case offset < WindowSize:
		bit := uint32(1) << (offset - 1)
		if w.bits&bit != 0 {
			return errDupWindow
		}
		w.bits |= bit
		return nil
	case strict:
		return errDupBehind
	default:
		// Unsecured: a counter far behind means the peer restarted with a new random counter.
		w.max, w.bits = c, 0
		return nil
	}
}
