package session

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/message"
)

// NonceSize and MICSize are Matter's AES-CCM parameters (§3.6).
const (
	NonceSize = 13
	MICSize   = message.MICSize
)

// Nonce returns the message nonce (§4.7, transport notes §2.6):
// SecurityFlags || MessageCounter (LE32) || SourceNodeID (LE64). The source node id is the sender's
// operational node id on CASE sessions and 0 (unspecified) on PASE sessions.
func Nonce(securityFlags byte, counter uint32, sourceNodeID uint64) [NonceSize]byte {
	var n [NonceSize]byte
	n[0] = securityFlags
	binary.LittleEndian.PutUint32(n[1:5], counter)
	binary.LittleEndian.PutUint64(n[5:13], sourceNodeID)
	return n
}

// SecureConfig describes a secure unicast session as PASE or CASE established it.
type SecureConfig struct {
	// LocalSessionID is the id this node allocated; the peer puts it in every message it sends.
	LocalSessionID uint16
	// PeerSessionID is the id the peer allocated; this node puts it in every message it sends.
	PeerSessionID uint16
	// Role is this node's role in the handshake: the initiator sends with I2RKey, the responder
	// with R2IKey.
	Role           Role
	I2RKey, R2IKey []byte
	// LocalNodeID and PeerNodeID go into the nonces: operational node ids for CASE, 0 for PASE.
	LocalNodeID, PeerNodeID uint64
	// PeerMRP is what the peer advertised; zero fields take the defaults.
	PeerMRP MRPParams
	// NewAEAD builds the cipher for a key; nil means AES-128-CCM (mcrypto.NewCCM). The AEAD must
	// take a 13-byte nonce and add a 16-byte tag.
	NewAEAD func(key []byte) (cipher.AEAD, error)
	// Rand seeds the outbound counter; nil means crypto/rand.
	Rand io.Reader
}

// Secure is a secure unicast session (PASE or CASE). Seal encrypts with the key of this node's
// role, Open decrypts with the other one, checks the counter window and, for messages with the
// privacy flag, first removes the header obfuscation.
type Secure struct {
	localID, peerID     uint16
	role                Role
	localNode, peerNode uint64
	send, recv          cipher.AEAD
	recvPrivacyKey      []byte
	counter             *message.Counter
	mu                  sync.Mutex
	window              message.ReceiveWindow
	peerMRP             MRPParams
}

// NewSecure checks cfg and builds the session.
func NewSecure(cfg SecureConfig) (*Secure, error) {
	if cfg.LocalSessionID == 0 || cfg.PeerSessionID == 0 {
		return nil, fmt.Errorf("secure session: session ids %d/%d: 0 is the unsecured session (§4.4.1.2)", cfg.LocalSessionID, cfg.PeerSessionID)
	}
	if cfg.Role != Initiator && cfg.Role != Responder {
		return nil, fmt.Errorf("secure session: unknown role %d", cfg.Role)
	}
	newAEAD := cfg.NewAEAD
	if newAEAD == nil {
		newAEAD = mcrypto.NewCCM
	}
	i2r, err := buildAEAD(newAEAD, "I2RKey", cfg.I2RKey)
	if err != nil {
		return nil, err
	}
	r2i, err := buildAEAD(newAEAD, "R2IKey", cfg.R2IKey)
	if err != nil {
		return nil, err
	}
	s := &Secure{localID: cfg.LocalSessionID, peerID: cfg.PeerSessionID, role: cfg.Role,
		localNode: cfg.LocalNodeID, peerNode: cfg.PeerNodeID, peerMRP: cfg.PeerMRP,
		window: message.NewReceiveWindow(message.WindowSecureUnicast)}
	recvKey := cfg.R2IKey
	s.send, s.recv = i2r, r2i
	if cfg.Role == Responder {
		s.send, s.recv = r2i, i2r
		recvKey = cfg.I2RKey
	}
	if s.recvPrivacyKey, err = message.DerivePrivacyKey(recvKey); err != nil {
		return nil, fmt.Errorf("secure session: %w", err)
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	if s.counter, err = message.NewCounter(rnd, message.NoRollover); err != nil {
		return nil, fmt.Errorf("secure session: %w", err)
	}
	return s, nil
}

func buildAEAD(newAEAD func([]byte) (cipher.AEAD, error), name string, key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("secure session: %s is %d bytes, want 16 (AES-128, §3.6)", name, len(key))
	}
	a, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("secure session: %s: %w", name, err)
	}
	if a.NonceSize() != NonceSize || a.Overhead() != MICSize {
		return nil, fmt.Errorf("secure session: %s cipher has a %d-byte nonce and %d-byte tag, want %d and %d (§3.6)",
			name, a.NonceSize(), a.Overhead(), NonceSize, MICSize)
	}
	return a, nil
}

func (*Secure) isSession()               {}
func (*Secure) Secure() bool             { return true }
func (s *Secure) LocalSessionID() uint16 { return s.localID }

// PeerSessionID is the id this node sends in its message headers.
func (s *Secure) PeerSessionID() uint16 { return s.peerID }

// Role is this node's role in the establishing handshake.
func (s *Secure) Role() Role { return s.role }

// PeerNodeID is the peer's operational node id (0 on a PASE session).
func (s *Secure) PeerNodeID() uint64 { return s.peerNode }

// LocalNodeID is this node's operational node id on the session's fabric (0 on a PASE session).
func (s *Secure) LocalNodeID() uint64 { return s.localNode }

// PeerMRP implements Session.
func (s *Secure) PeerMRP() MRPParams {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerMRP.WithDefaults()
}

// SetPeerMRP replaces the peer's parameters.
func (s *Secure) SetPeerMRP(p MRPParams) {
	s.mu.Lock()
	s.peerMRP = p
	s.mu.Unlock()
}

func (s *Secure) String() string {
	return fmt.Sprintf("secure session %d→%d (%s)", s.localID, s.peerID, s.role)
}

// Seal implements Session: header || AES-CCM(protocol header || payload) with the header as AAD.
func (s *Secure) Seal(ph *message.ProtocolHeader, payload []byte) ([]byte, uint32, error) {
	plainLen := ph.Len() + len(payload)
	if plainLen > maxPlaintext {
		return nil, 0, fmt.Errorf("%s: %s with %d bytes of payload: %w (CCM carries at most %d bytes)",
			s, message.OpName(ph.ProtocolID, ph.Opcode), len(payload), ErrTooLarge, maxPlaintext)
	}
	c, err := s.counter.Next()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", s, err)
	}
	h := message.Header{SessionID: s.peerID, Counter: c}
	out := make([]byte, 0, h.Len()+plainLen+MICSize)
	if out, err = h.Append(out); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", s, err)
	}
	hdrLen := len(out)
	if out, err = ph.Append(out); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", s, err)
	}
	out = append(out, payload...)
	nonce := Nonce(out[3], c, s.localNode)
	// Encrypt in place behind the header; dst and the AAD (the header) do not overlap.
	sealed := s.send.Seal(out[hdrLen:hdrLen], nonce[:], out[hdrLen:], out[:hdrLen])
	return out[:hdrLen+len(sealed)], c, nil
}

// Open implements Session. The returned message owns fresh memory; wire is not modified.
func (s *Secure) Open(wire []byte) (message.Message, bool, error) {
	h, n, err := message.DecodeHeader(wire)
	if err != nil {
		return message.Message{}, false, fmt.Errorf("%s: %w", s, err)
	}
	if h.SessionType != message.SessionUnicast {
		return message.Message{}, false, fmt.Errorf("%s: %s session message: %w", s, h.SessionType, ErrUnsupported)
	}
	if h.SessionID != s.localID {
		return message.Message{}, false, fmt.Errorf("%s: message for session id %d: %w", s, h.SessionID, ErrNotForSession)
	}
	if h.Privacy {
		// §4.9.3: the counter and node ids are obfuscated; the flags and session id are not.
		if wire, err = message.Deobfuscate(s.recvPrivacyKey, wire); err != nil {
			return message.Message{}, false, fmt.Errorf("%s: privacy: %w", s, err)
		}
		if h, n, err = message.DecodeHeader(wire); err != nil {
			return message.Message{}, false, fmt.Errorf("%s: de-obfuscated header: %w", s, err)
		}
	}
	if len(wire)-n < MICSize {
		return message.Message{}, false, fmt.Errorf("%s: %d bytes after a %d-byte header, need at least the %d-byte MIC: %w",
			s, len(wire)-n, n, MICSize, message.ErrTruncated)
	}
	src := s.peerNode
	if h.HasSource {
		src = h.SourceNodeID
	}
	nonce := Nonce(wire[3], h.Counter, src)
	plain, err := s.recv.Open(make([]byte, 0, len(wire)-n-MICSize), nonce[:], wire[n:], wire[:n])
	if err != nil {
		return message.Message{}, false, fmt.Errorf("%s: counter %d: %w: %w", s, h.Counter, ErrAuthentication, err)
	}
	ph, m, err := message.DecodeProtocolHeader(plain)
	if err != nil {
		return message.Message{}, false, fmt.Errorf("%s: decrypted payload: %w", s, err)
	}
	if h.Extensions != nil {
		h.Extensions = append([]byte{}, h.Extensions...) // do not alias the caller's buffer
	}
	s.mu.Lock()
	dupErr := s.window.Accept(h.Counter)
	s.mu.Unlock()
	return message.Message{Header: h, Protocol: ph, Payload: plain[m:]}, dupErr != nil, nil
}
