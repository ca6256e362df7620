package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/otaconf/otaconf/matter/message"
)

// maxOperationalNodeID is the top of the operational node id range (Core §2.5.5); ephemeral
// initiator ids are drawn from [1, maxOperationalNodeID], as CHIP and matter.js do.
const maxOperationalNodeID = 0xFFFF_FFEF_FFFF_FFFF

// Unsecured is the unsecured session (session id 0, §4.4.1.2) between one initiator and one
// responder, used for PASE/CASE establishment. The initiator picks a random ephemeral node id and
// sends it as source node id; the responder echoes it as destination node id (transport notes §2.1).
// Messages travel in clear; Open's message aliases the wire buffer.
type Unsecured struct {
	role      Role
	ephemeral uint64
	counter   *message.Counter

	mu      sync.Mutex
	window  message.ReceiveWindow
	peerMRP MRPParams
}

// NewUnsecuredInitiator returns the initiator side with an ephemeral node id drawn from rnd. counter
// is the node's global unencrypted counter, shared by all its unsecured sessions (§4.6.1).
func NewUnsecuredInitiator(rnd io.Reader, counter *message.Counter) (*Unsecured, error) {
	if counter == nil {
		return nil, errors.New("unsecured session: nil global counter")
	}
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, fmt.Errorf("unsecured session: ephemeral node id: %w", err)
	}
	id := binary.LittleEndian.Uint64(b[:])%maxOperationalNodeID + 1
	return &Unsecured{role: Initiator, ephemeral: id, counter: counter,
		window: message.NewReceiveWindow(message.WindowUnsecured)}, nil
}

// NewUnsecuredResponder returns the responder side for an initiator that introduced itself with
// the ephemeral source node id peerNodeID.
func NewUnsecuredResponder(peerNodeID uint64, counter *message.Counter) (*Unsecured, error) {
	if counter == nil {
		return nil, errors.New("unsecured session: nil global counter")
	}
	return &Unsecured{role: Responder, ephemeral: peerNodeID, counter: counter,
		window: message.NewReceiveWindow(message.WindowUnsecured)}, nil
}

func (*Unsecured) isSession()             {}
func (*Unsecured) Secure() bool           { return false }
func (*Unsecured) LocalSessionID() uint16 { return 0 }

// Role is this node's role.
func (u *Unsecured) Role() Role { return u.role }

// EphemeralNodeID is the initiator's ephemeral node id (ours as initiator, the peer's as responder).
func (u *Unsecured) EphemeralNodeID() uint64 { return u.ephemeral }

// PeerMRP implements Session.
func (u *Unsecured) PeerMRP() MRPParams {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.peerMRP.WithDefaults()
}

// SetPeerMRP records the parameters the peer advertised (PBKDFParamResponse, Sigma2, DNS-SD).
func (u *Unsecured) SetPeerMRP(p MRPParams) {
	u.mu.Lock()
	u.peerMRP = p
	u.mu.Unlock()
}

func (u *Unsecured) String() string {
	return fmt.Sprintf("unsecured session (%s, ephemeral node 0x%016X)", u.role, u.ephemeral)
}

// header returns the message header for a new message with counter c.
func (u *Unsecured) header(c uint32) message.Header {
	h := message.Header{Counter: c}
	if u.role == Initiator {
		h.HasSource, h.SourceNodeID = true, u.ephemeral
	} else {
		h.DestKind, h.DestNodeID = message.DestNode, u.ephemeral
	}
	return h
}

// Seal implements Session: the message travels in clear.
func (u *Unsecured) Seal(ph *message.ProtocolHeader, payload []byte) ([]byte, uint32, error) {
	c, err := u.counter.Next()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", u, err)
	}
	m := message.Message{Header: u.header(c), Protocol: *ph, Payload: payload}
	b, err := m.Encode()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: encoding %s: %w", u, message.OpName(ph.ProtocolID, ph.Opcode), err)
	}
	return b, c, nil
}

// Open implements Session. The initiator accepts only messages addressed to its ephemeral id; the
// responder only messages from the initiator's ephemeral id.
func (u *Unsecured) Open(wire []byte) (message.Message, bool, error) {
	m, err := message.DecodeMessage(wire)
	if err != nil {
		return message.Message{}, false, fmt.Errorf("%s: %w", u, err)
	}
	h := &m.Header
	switch {
	case h.SessionID != 0 || h.SessionType != message.SessionUnicast:
		return message.Message{}, false, fmt.Errorf("%s: session id %d, type %s: %w", u, h.SessionID, h.SessionType, ErrNotForSession)
	case h.Privacy:
		return message.Message{}, false, fmt.Errorf("%s: privacy flag on the unsecured session (§4.9): %w", u, ErrUnsupported)
	case u.role == Initiator && (h.DestKind != message.DestNode || h.DestNodeID != u.ephemeral):
		return message.Message{}, false, fmt.Errorf("%s: destination %s 0x%016X is not our ephemeral id: %w", u, destName(h.DestKind), h.DestNodeID, ErrNotForSession)
	case u.role == Responder && (!h.HasSource || h.SourceNodeID != u.ephemeral):
		return message.Message{}, false, fmt.Errorf("%s: source node id (present %v) 0x%016X is not the initiator's: %w", u, h.HasSource, h.SourceNodeID, ErrNotForSession)
	}
	u.mu.Lock()
	dupErr := u.window.Accept(h.Counter)
	u.mu.Unlock()
	return m, dupErr != nil, nil
}

func destName(k message.DestKind) string {
	switch k {
	case message.DestNode:
		return "node"
	case message.DestGroup:
		return "group"
	}
	return "none"
}
