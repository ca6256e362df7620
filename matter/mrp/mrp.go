package mrp

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/otaconf/otaconf/matter/message"
)

// MRP constants (§4.12.8, transport notes §2.5).
const (
	// StandaloneAckTimeout is how long an ack waits for a message to ride on before it is sent alone.
	StandaloneAckTimeout = 200 * time.Millisecond
	// MaxTransmissions is the first send plus four retransmissions.
	MaxTransmissions = 5

	backoffMargin    = 1.1
	backoffBase      = 1.6
	backoffThreshold = 1
	backoffJitter    = 0.25
)

// Backoff returns how long to wait for an ack after transmission n (0 = the first send) with
// retransmission base interval base and jitter draw u in [0, 1) (§4.12.8):
//
//	base × 1.1 × 1.6^max(0, n−1) × (1 + u × 0.25)
func Backoff(base time.Duration, n int, u float64) time.Duration {
	exp := max(0, n-backoffThreshold)
	f := backoffMargin * math.Pow(backoffBase, float64(exp)) * (1 + u*backoffJitter)
	return time.Duration(float64(base) * f)
}

// Sentinels a caller can branch on with errors.Is.
var (
	// ErrAckTimeout: a reliable message was not acknowledged after MaxTransmissions (the error is a
	// *TimeoutError with the details).
	ErrAckTimeout = errors.New("mrp: message not acknowledged")
	// ErrExchangeClosed: the exchange was closed locally.
	ErrExchangeClosed = errors.New("mrp: exchange closed")
	// ErrSessionRemoved: the exchange's session was removed from the node.
	ErrSessionRemoved = errors.New("mrp: session removed")
	// ErrNodeClosed: the node was closed or its context ended.
	ErrNodeClosed = errors.New("mrp: node closed")
	// ErrUnknownSession: the session was never added to the node (or was removed).
	ErrUnknownSession = errors.New("mrp: session not registered with this node")
)

// TimeoutError reports a reliable message that was never acknowledged.
type TimeoutError struct {
	ExchangeID uint16
	Initiator  bool   // this node's role on the exchange
	Session    string // the session's description
	ProtocolID message.ProtocolID
	Opcode     uint8
	Counter    uint32        // message counter of the unacknowledged message
	Attempts   int           // transmissions made (MaxTransmissions)
	Elapsed    time.Duration // from the first transmission to giving up
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("mrp: exchange %d (%s) on %s: %s (message counter %d) not acknowledged after %d transmissions in %v (§4.12.8)",
		e.ExchangeID, roleName(e.Initiator), e.Session, message.OpName(e.ProtocolID, e.Opcode), e.Counter, e.Attempts, e.Elapsed.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrAckTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrAckTimeout }

// Timeout reports true, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }

func roleName(initiator bool) string {
	if initiator {
		return "initiator"
	}
	return "responder"
}
