package session

import (
	"errors"
	"time"

	"github.com/otaconf/otaconf/matter/message"
)

// Role is a node's role in the handshake that created a session. It selects the key a node sends
// with (initiator: I2R, responder: R2I; §4.14.1 PASE, §4.14.2 CASE) and, for the unsecured session,
// which node id field carries the initiator's ephemeral id.
type Role uint8

const (
	Initiator Role = iota
	Responder
)

func (r Role) String() string {
	if r == Initiator {
		return "initiator"
	}
	return "responder"
}

// MRPParams are a peer's reliability parameters (§4.12, transport notes §2.5). PASE and
// CASE decode them from the session-parameter TLV, DNS-SD from SII/SAI/SAT; this package only
// carries them.
type MRPParams struct {
	Idle            time.Duration // SESSION_IDLE_INTERVAL: retransmission base while the peer is idle
	Active          time.Duration // SESSION_ACTIVE_INTERVAL: retransmission base while it is active
	ActiveThreshold time.Duration // SESSION_ACTIVE_THRESHOLD: how long it stays active after a message
}

// Defaults used when a peer did not advertise its parameters (§4.12).
const (
	DefaultIdle            = 500 * time.Millisecond
	DefaultActive          = 300 * time.Millisecond
	DefaultActiveThreshold = 4 * time.Second
)

// DefaultMRPParams returns the parameters a peer has when it advertised none.
func DefaultMRPParams() MRPParams {
	return MRPParams{Idle: DefaultIdle, Active: DefaultActive, ActiveThreshold: DefaultActiveThreshold}
}

// WithDefaults returns p with every zero or negative field replaced by its default.
func (p MRPParams) WithDefaults() MRPParams {
	d := DefaultMRPParams()
	if p.Idle <= 0 {
		p.Idle = d.Idle
	}
	if p.Active <= 0 {
		p.Active = d.Active
	}
	if p.ActiveThreshold <= 0 {
		p.ActiveThreshold = d.ActiveThreshold
	}
	return p
}

// Errors Open returns (wrapped, with the detail) so that a caller can count and log drops by cause.
var (
	// ErrNotForSession: the header does not address this session (session id, node ids, type).
	ErrNotForSession = errors.New("message does not belong to this session")
	// ErrAuthentication: the MIC did not verify (wrong key, tampered bytes, wrong nonce).
	ErrAuthentication = errors.New("message authentication failed")
	// ErrUnsupported: a well-formed message this implementation does not process (group sessions,
	// privacy on the unsecured session).
	ErrUnsupported = errors.New("unsupported message")
	// ErrTooLarge: a message Seal cannot build (CCM's 2-byte length field caps the plaintext).
	ErrTooLarge = errors.New("message too large")
)

// maxPlaintext is the largest plaintext AES-CCM with a 13-byte nonce can carry (L = 2).
const maxPlaintext = 0xFFFF

// Session is one end of a Matter session as package mrp drives it. The two implementations are
// *Unsecured and *Secure; both are safe for concurrent use.
type Session interface {
	// Secure reports whether messages are encrypted.
	Secure() bool
	// LocalSessionID is the id peers address this node with (0 for the unsecured session).
	LocalSessionID() uint16
	// PeerMRP returns the peer's reliability parameters, defaults filled in.
	PeerMRP() MRPParams
	// Seal builds a new message from a protocol header and payload with the next message counter
	// and returns the wire bytes and that counter.
	Seal(ph *message.ProtocolHeader, payload []byte) (wire []byte, counter uint32, err error)
	// Open authenticates and decodes a received message addressed to this session. duplicate is
	// true for a valid message whose counter was seen before: it must be acknowledged (if it asks)
	// but not delivered again. On error the message is to be dropped.
	Open(wire []byte) (m message.Message, duplicate bool, err error)
	String() string

	isSession()
}
