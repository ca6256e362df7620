package pase

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/session"
)

// ResponderConfig configures a Responder.
type ResponderConfig struct {
	// Passcode is the device's setup passcode; the verifier (w0, L) is derived from it once.
	Passcode uint32
	// Salt is the PBKDF salt (16..32 bytes); nil draws 32 bytes from Rand.
	Salt []byte
	// Iterations is the PBKDF iteration count (1000..100000); 0 means 1000, the minimum CHIP and
	// matter.js devices use.
	Iterations uint32
	// SessionParams are advertised in PBKDFParamResponse tag 5; nil means DefaultSessionParams.
	SessionParams *SessionParams
	// Timeout bounds one handshake on top of ctx; 0 means DefaultTimeout.
	Timeout time.Duration
	// Rand supplies the salt, responderRandom, the SPAKE2+ scalar and the session counter start;
	// nil means crypto/rand.
	Rand io.Reader
	// Logger receives debug logs; nil logs nothing.
	Logger *slog.Logger
}

// Responder is the device side of PASE (§4.14.1), good enough for tests and simulated devices: it
// answers a PBKDFParamRequest with its salt and iterations, runs SPAKE2+ as the verifier and
// registers the resulting session with its node. It enforces no commissioning window and no
// attempt limits. It is safe for concurrent handshakes.
type Responder struct {
	node  *mrp.Node
	cfg   ResponderConfig
	w0, L []byte
}

// NewResponder derives the verifier for cfg.Passcode and returns a responder on node.
func NewResponder(node *mrp.Node, cfg ResponderConfig) (*Responder, error) {
	if node == nil {
		return nil, errors.New("pase: responder: nil mrp.Node")
	}
	if cfg.Rand == nil {
		cfg.Rand = crand.Reader
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = mcrypto.PBKDFMinIterations
	}
	if cfg.Salt == nil {
		cfg.Salt = make([]byte, MaxSaltLen)
		if _, err := io.ReadFull(cfg.Rand, cfg.Salt); err != nil {
			return nil, fmt.Errorf("pase: responder salt: %w", err)
		}
	}
	cfg.Salt = bytes.Clone(cfg.Salt)
	if cfg.SessionParams == nil {
		p := DefaultSessionParams()
		cfg.SessionParams = &p
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w0, w1, L, err := mcrypto.PASEVerifier(cfg.Passcode, cfg.Salt, int(cfg.Iterations))
	if err != nil {
		return nil, fmt.Errorf("pase: responder verifier: %w", err)
	}
	clear(w1)
	return &Responder{node: node, cfg: cfg, w0: w0, L: L}, nil
}

// Handshake runs one PASE handshake on x, an exchange a commissioner opened whose first message,
// first, has already been received and must be a PBKDFParamRequest. On success the secure session
// is registered with the node and returned. The session is registered before the final
// StatusReport is sent (as CHIP and matter.js do), so that a lost acknowledgement of that report
// does not lose a session the commissioner already uses. Failures wrap the same sentinels as
// Initiate's; a confirmation failure (wrong passcode) is reported to the commissioner.
func (r *Responder) Handshake(ctx context.Context, x *mrp.Exchange, first message.Message) (*session.Secure, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, fmt.Errorf("%w (%v)", errHandshakeTimeout, r.cfg.Timeout))
	defer cancel()
	c := &conv{x: x, peer: x.Peer(), role: "commissioner", start: time.Now(), log: r.cfg.Logger, last: "nothing"}
	if !first.Is(message.ProtocolSecureChannel, securechannel.OpPBKDFParamRequest) {
		return nil, c.violation(ctx, fmt.Sprintf("exchange opened with %s, want PBKDFParamRequest", message.OpName(first.Protocol.ProtocolID, first.Protocol.Opcode)))
	}
	reqBytes := bytes.Clone(first.Payload)
	req, err := DecodePBKDFParamRequest(reqBytes)
	if err != nil {
		return nil, c.fault(ctx, err)
	}
	if req.PasscodeID != 0 {
		return nil, c.fault(ctx, fmt.Errorf("PBKDFParamRequest.passcodeId %d, only 0 (the default passcode) exists [%s]", req.PasscodeID, secMessages))
	}
	if req.InitiatorSessionID == 0 {
		return nil, c.fault(ctx, fmt.Errorf("PBKDFParamRequest.initiatorSessionId is 0 [%s, Core §4.4.1.2]", secMessages))
	}
	var peerMRP session.MRPParams
	if req.SessionParams != nil {
		peerMRP = req.SessionParams.MRP
		if u, ok := x.Session().(*session.Unsecured); ok {
			u.SetPeerMRP(peerMRP)
		}
	}

	localID, err := r.node.AllocSessionID()
	if err != nil {
		return nil, fmt.Errorf("PASE responder: %w: %w", ErrLocal, err)
	}
	resp := PBKDFParamResponse{InitiatorRandom: req.InitiatorRandom, ResponderSessionID: localID, SessionParams: r.cfg.SessionParams}
	if !req.HasPBKDFParameters {
		resp.PBKDF = &PBKDFParameters{Iterations: r.cfg.Iterations, Salt: r.cfg.Salt}
	}
	if _, err := io.ReadFull(r.cfg.Rand, resp.ResponderRandom[:]); err != nil {
		return nil, fmt.Errorf("PASE responder: responderRandom: %w: %w", ErrLocal, err)
	}
	respBytes, err := resp.Append(nil)
	if err != nil {
		return nil, fmt.Errorf("PASE responder: %w: %w", ErrLocal, err)
	}
	if err := c.send(ctx, securechannel.OpPBKDFParamResponse, respBytes); err != nil {
		return nil, err
	}

	m, err := c.receive(ctx, securechannel.OpPASEPake1)
	if err != nil {
		return nil, err
	}
	p1, err := DecodePake1(m.Payload)
	if err != nil {
		return nil, c.fault(ctx, err)
	}
	v, err := mcrypto.NewVerifier(mcrypto.PASEContext(reqBytes, respBytes), r.w0, r.L, r.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("PASE responder: %w: %w", ErrLocal, err)
	}
	Y, cB, err := v.Share(p1.PA[:])
	if err != nil {
		return nil, c.fault(ctx, fmt.Errorf("Pake1.pA: %w", err))
	}
	var p2 Pake2
	copy(p2.PB[:], Y)
	copy(p2.CB[:], cB)
	p2Bytes, _ := p2.Append(nil)
	if err := c.send(ctx, securechannel.OpPASEPake2, p2Bytes); err != nil {
		return nil, err
	}

	if m, err = c.receive(ctx, securechannel.OpPASEPake3); err != nil {
		return nil, err
	}
	p3, err := DecodePake3(m.Payload)
	if err != nil {
		return nil, c.fault(ctx, err)
	}
	ke, err := v.Confirm(p3.CA[:])
	if err != nil {
		c.abort(ctx)
		return nil, fmt.Errorf("PASE responder, commissioner at %s: %w: its Pake3 confirmation cA does not verify (%w)", c.peer, ErrConfirmation, err)
	}
	keys, err := mcrypto.SessionKeys(ke, nil, mcrypto.SessionKeysInfo)
	clear(ke)
	if err != nil {
		return nil, fmt.Errorf("PASE responder: %w: %w", ErrLocal, err)
	}
	s, err := session.NewSecure(session.SecureConfig{
		LocalSessionID: localID, PeerSessionID: req.InitiatorSessionID, Role: session.Responder,
		I2RKey: keys.I2R[:], R2IKey: keys.R2I[:], PeerMRP: peerMRP, Rand: r.cfg.Rand,
	})
	clear(keys.I2R[:])
	clear(keys.R2I[:])
	if err != nil {
		return nil, fmt.Errorf("PASE responder: %w: %w", ErrLocal, err)
	}
	if err := r.node.AddSession(s, c.peer); err != nil {
		return nil, fmt.Errorf("PASE responder: %w: %w", ErrLocal, err)
	}
	ok := securechannel.StatusReport{General: securechannel.GeneralSuccess, ProtocolID: uint32(securechannel.ProtocolID),
		ProtocolCode: securechannel.CodeSessionEstablishmentSuccess}
	if err := c.send(ctx, securechannel.OpStatusReport, ok.Encode()); err != nil {
		// The commissioner may well have the report and only its ack got lost: keep the session.
		r.cfg.Logger.Debug("pase: responder's success report not acknowledged; keeping the session", "peer", c.peer, "err", err)
	}
	r.cfg.Logger.Debug("pase: responder established a session", "peer", c.peer, "session", s.String())
	return s, nil
}
