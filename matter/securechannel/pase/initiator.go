package pase

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/session"
)

// DefaultTimeout bounds a whole handshake when Options.Timeout is 0. CHIP allows each PASE step of
// a commissionee 30 s of "high processing time"; matter.js gives a pairing 60 s in total.
const DefaultTimeout = 30 * time.Second

// DefaultSessionParams is what Initiate advertises when Options.SessionParams is nil: the MRP
// defaults (§4.12.8), which are how this node's mrp.Node behaves (always awake, acks at once).
func DefaultSessionParams() SessionParams {
	return SessionParams{MRP: session.DefaultMRPParams()}
}

// Options configures Initiate. The zero value is usable.
type Options struct {
	// Timeout bounds the whole handshake on top of ctx; 0 means DefaultTimeout.
	Timeout time.Duration
	// SessionParams are advertised in PBKDFParamRequest tag 5; nil means DefaultSessionParams.
	SessionParams *SessionParams
	// Rand supplies initiatorRandom, the SPAKE2+ scalar and the secure session's first message
	// counter; nil means crypto/rand. Tests pass a seeded stream for reproducible handshakes.
	Rand io.Reader
	// Logger receives debug logs of each step; nil logs nothing.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SessionParams == nil {
		p := DefaultSessionParams()
		o.SessionParams = &p
	}
	if o.Rand == nil {
		o.Rand = crand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Initiate runs PASE as the commissioner (§4.14.1) with the device at peer over node and returns
// the secure session, already registered with node (AddSession) and carrying the device's MRP
// parameters. Steps: PBKDFParamRequest (random, our session id, passcode id 0, no PBKDF parameters
// known, our session parameters) → PBKDFParamResponse (echoed random checked, salt 16..32 bytes,
// iterations 1000..100000) → w0, w1 → Pake1 → Pake2 (cB verified) → Pake3 → StatusReport success.
//
// Every wait is bounded by ctx and Options.Timeout. A failure wraps one of ErrConfirmation (wrong
// passcode), ErrRejected (*StatusError), ErrTimeout (*TimeoutError), ErrProtocol or ErrLocal; a
// cancelled ctx gives its error. When this side detects the failure it tells the device with a
// StatusReport (FAILURE, INVALID_PARAMETER), so the device can accept a new attempt at once.
func Initiate(ctx context.Context, node *mrp.Node, peer netip.AddrPort, passcode uint32, opts Options) (*session.Secure, error) {
	if node == nil {
		return nil, fmt.Errorf("PASE with %s: %w: nil mrp.Node", peer, ErrLocal)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("PASE with %s: not started: %w", peer, err)
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeoutCause(ctx, opts.Timeout, fmt.Errorf("%w (%v)", errHandshakeTimeout, opts.Timeout))
	defer cancel()

	localID, err := node.AllocSessionID()
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	u, err := node.NewUnsecuredSession(peer)
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	defer node.RemoveSession(u)
	x, err := node.NewExchange(u)
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	defer x.Close() // sends the ack owed for the final StatusReport at once
	c := &conv{x: x, peer: peer, role: "device", start: time.Now(), log: opts.Logger}

	// PBKDFParamRequest → PBKDFParamResponse.
	req := PBKDFParamRequest{InitiatorSessionID: localID, SessionParams: opts.SessionParams}
	if _, err := io.ReadFull(opts.Rand, req.InitiatorRandom[:]); err != nil {
		return nil, fmt.Errorf("PASE with %s: initiatorRandom: %w: %w", peer, ErrLocal, err)
	}
	reqBytes, err := req.Append(nil)
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	if err := c.send(ctx, securechannel.OpPBKDFParamRequest, reqBytes); err != nil {
		return nil, err
	}
	m, err := c.receive(ctx, securechannel.OpPBKDFParamResponse)
	if err != nil {
		return nil, err
	}
	respBytes := bytes.Clone(m.Payload) // hashed into the context: the exact bytes received
	resp, err := DecodePBKDFParamResponse(respBytes)
	if err != nil {
		return nil, c.fault(ctx, err)
	}
	if err := checkResponse(&req, &resp); err != nil {
		return nil, c.fault(ctx, err)
	}
	var peerMRP session.MRPParams
	if resp.SessionParams != nil {
		peerMRP = resp.SessionParams.MRP
		u.SetPeerMRP(peerMRP) // the rest of the handshake already retransmits at the device's pace
	}

	// w0, w1 → Pake1 → Pake2.
	w0, w1, _, err := mcrypto.PASEVerifier(passcode, resp.PBKDF.Salt, int(resp.PBKDF.Iterations))
	if err != nil {
		return nil, c.fault(ctx, err)
	}
	prover, err := mcrypto.NewProver(mcrypto.PASEContext(reqBytes, respBytes), w0, w1, opts.Rand)
	clear(w1)
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	var p1 Pake1
	copy(p1.PA[:], prover.Share())
	p1Bytes, _ := p1.Append(nil) // fixed-size fields cannot fail
	if err := c.send(ctx, securechannel.OpPASEPake1, p1Bytes); err != nil {
		return nil, err
	}
	if m, err = c.receive(ctx, securechannel.OpPASEPake2); err != nil {
		return nil, err
	}
	p2, err := DecodePake2(m.Payload)
	if err != nil {
		return nil, c.fault(ctx, err)
	}
	cA, ke, err := prover.Finish(p2.PB[:], p2.CB[:])
	switch {
	case errors.Is(err, mcrypto.ErrConfirmation):
		c.abort(ctx)
		return nil, fmt.Errorf("PASE with the device at %s: %w: its Pake2 confirmation cB does not verify with passcode %08d (%w) [%s]",
			peer, ErrConfirmation, passcode, err, "Core §3.10, §4.14.1.2")
	case err != nil: // pB is not a valid point
		return nil, c.fault(ctx, fmt.Errorf("Pake2.pB: %w", err))
	}
	defer clear(ke)

	// Pake3 → StatusReport.
	var p3 Pake3
	copy(p3.CA[:], cA)
	p3Bytes, _ := p3.Append(nil)
	if err := c.send(ctx, securechannel.OpPASEPake3, p3Bytes); err != nil {
		return nil, err
	}
	if _, err := c.receive(ctx, securechannel.OpStatusReport); err != nil {
		return nil, err
	}

	keys, err := mcrypto.SessionKeys(ke, nil, mcrypto.SessionKeysInfo)
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	defer clear(keys.I2R[:])
	defer clear(keys.R2I[:])
	s, err := session.NewSecure(session.SecureConfig{
		LocalSessionID: localID, PeerSessionID: resp.ResponderSessionID, Role: session.Initiator,
		I2RKey: keys.I2R[:], R2IKey: keys.R2I[:], PeerMRP: peerMRP, Rand: opts.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	if err := node.AddSession(s, peer); err != nil {
		return nil, fmt.Errorf("PASE with %s: %w: %w", peer, ErrLocal, err)
	}
	opts.Logger.Debug("pase: session established", "peer", peer, "session", s.String(), "elapsed", time.Since(c.start))
	return s, nil
}

// fault reports a bad message of the device to it and returns the error (wrapping ErrProtocol).
func (c *conv) fault(ctx context.Context, err error) error {
	c.abort(ctx)
	return fmt.Errorf("PASE with the %s at %s: %w: %w", c.role, c.peer, ErrProtocol, err)
}

// checkResponse applies the rules of §4.14.1.2 and §3.9 that depend on the request.
func checkResponse(req *PBKDFParamRequest, resp *PBKDFParamResponse) error {
	switch {
	case resp.InitiatorRandom != req.InitiatorRandom:
		return fmt.Errorf("PBKDFParamResponse.initiatorRandom %X does not echo ours %X [%s]", resp.InitiatorRandom[:4], req.InitiatorRandom[:4], secMessages)
	case resp.ResponderSessionID == 0:
		return fmt.Errorf("PBKDFParamResponse.responderSessionId is 0, the unsecured session's id [%s, Core §4.4.1.2]", secMessages)
	case resp.PBKDF == nil && !req.HasPBKDFParameters:
		return fmt.Errorf("PBKDFParamResponse.pbkdf_parameters absent although the request said hasPBKDFParameters=false [%s]", secMessages)
	case resp.PBKDF != nil && (resp.PBKDF.Iterations < mcrypto.PBKDFMinIterations || resp.PBKDF.Iterations > mcrypto.PBKDFMaxIterations):
		return fmt.Errorf("PBKDFParamResponse.pbkdf_parameters.iterations %d outside %d..%d [%s]",
			resp.PBKDF.Iterations, mcrypto.PBKDFMinIterations, mcrypto.PBKDFMaxIterations, secPBKDF)
	}
	return nil
}
