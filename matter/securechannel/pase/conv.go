package pase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
)

// errHandshakeTimeout is the cause of the handshake context when Options.Timeout runs out.
var errHandshakeTimeout = errors.New("handshake timeout reached")

// abortWait bounds how long a failure StatusReport waits for its acknowledgement: the report is a
// courtesy that frees the peer's pairing state (matter.js otherwise keeps it for 60 s and ignores
// new PBKDFParamRequests meanwhile), not something worth stalling an error for.
const abortWait = 2 * time.Second

// conv is one side of the PASE exchange: it sends the handshake messages and receives the peer's,
// turning every failure into an error that names the step, the peer and the cause.
type conv struct {
	x     *mrp.Exchange
	peer  netip.AddrPort
	role  string // the peer's role, for messages: "device" or "commissioner"
	start time.Time
	log   *slog.Logger
	last  string // the message sent last, for timeouts
}

// opName names a secure channel opcode without the protocol prefix message.OpName adds.
func opName(op uint8) string {
	return strings.TrimPrefix(message.OpName(message.ProtocolSecureChannel, op), message.ProtocolSecureChannel.String()+" ")
}

// send sends one handshake message reliably and waits for its acknowledgement.
func (c *conv) send(ctx context.Context, op uint8, payload []byte) error {
	c.last = opName(op)
	c.log.Debug("pase: send", "op", c.last, "bytes", len(payload), "peer", c.peer)
	if err := c.x.Send(ctx, message.ProtocolSecureChannel, op, payload); err != nil {
		return c.waitErr(ctx, "acknowledgement", err)
	}
	return nil
}

// waitErr classifies a failed wait: a timeout (MRP gave up, the handshake timeout or ctx's deadline)
// becomes a *TimeoutError; anything else (cancellation, the node closing) a local failure.
func (c *conv) waitErr(ctx context.Context, waiting string, err error) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(err, mrp.ErrAckTimeout):
	case ctx.Err() != nil && (errors.Is(cause, errHandshakeTimeout) || errors.Is(cause, context.DeadlineExceeded)):
		err = fmt.Errorf("%w (%w)", cause, err)
	case ctx.Err() != nil:
		return fmt.Errorf("PASE with the %s at %s, waiting for the %s after %s: %w", c.role, c.peer, waiting, c.last, err)
	default:
		return fmt.Errorf("PASE with the %s at %s, waiting for the %s after %s: %w: %w", c.role, c.peer, waiting, c.last, ErrLocal, err)
	}
	return &TimeoutError{Peer: c.peer, Role: c.role, Step: c.last, Waiting: waiting, Elapsed: time.Since(c.start), Err: err}
}

// receive waits for the peer's next message, which must be opcode want. A StatusReport instead is
// the peer giving up (*StatusError); anything else is a protocol violation, which is reported to the
// peer before returning. A success StatusReport is returned as a message when want is OpStatusReport.
func (c *conv) receive(ctx context.Context, want uint8) (message.Message, error) {
	m, err := c.x.Receive(ctx)
	if err != nil {
		return message.Message{}, c.waitErr(ctx, opName(want), err)
	}
	c.log.Debug("pase: received", "op", message.OpName(m.Protocol.ProtocolID, m.Protocol.Opcode), "bytes", len(m.Payload), "peer", c.peer)
	if m.Protocol.ProtocolID != message.ProtocolSecureChannel {
		return m, c.violation(ctx, fmt.Sprintf("%s arrived instead of %s", message.OpName(m.Protocol.ProtocolID, m.Protocol.Opcode), opName(want)))
	}
	if m.Protocol.Opcode == securechannel.OpStatusReport {
		r, err := securechannel.DecodeStatusReport(m.Payload)
		if err != nil {
			return m, c.violation(ctx, fmt.Sprintf("undecodable StatusReport instead of %s: %v", opName(want), err))
		}
		if r.General != securechannel.GeneralSuccess {
			// The peer has already given up: there is nothing to answer.
			return m, &StatusError{Peer: c.peer, Role: c.role, Step: c.last, Report: r}
		}
		if want != securechannel.OpStatusReport {
			return m, c.violation(ctx, fmt.Sprintf("success StatusReport %s arrived instead of %s", r, opName(want)))
		}
		if r.ProtocolID != uint32(securechannel.ProtocolID) || r.ProtocolCode != securechannel.CodeSessionEstablishmentSuccess {
			return m, c.violation(ctx, fmt.Sprintf("final StatusReport is %s, want SUCCESS, protocol 0x00000000, code SESSION_ESTABLISHMENT_SUCCESS", r))
		}
		return m, nil
	}
	if m.Protocol.Opcode != want {
		return m, c.violation(ctx, fmt.Sprintf("%s arrived instead of %s", opName(m.Protocol.Opcode), opName(want)))
	}
	return m, nil
}

// violation reports a protocol violation to the peer (StatusReport FAILURE / INVALID_PARAMETER,
// §4.14.1.2 and App. D) and returns the error describing it.
func (c *conv) violation(ctx context.Context, detail string) error {
	c.abort(ctx)
	return fmt.Errorf("PASE with the %s at %s: %w: %s [%s]", c.role, c.peer, ErrProtocol, detail, secMessages)
}

// abort tells the peer that the handshake failed so that it frees its pairing state at once. It is
// best effort, bounded by abortWait.
func (c *conv) abort(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, abortWait)
	defer cancel()
	r := securechannel.StatusReport{General: securechannel.GeneralFailure, ProtocolID: uint32(securechannel.ProtocolID),
		ProtocolCode: securechannel.CodeInvalidParameter}
	if err := c.x.Send(ctx, message.ProtocolSecureChannel, securechannel.OpStatusReport, r.Encode()); err != nil {
		c.log.Debug("pase: failure StatusReport not acknowledged", "peer", c.peer, "err", err)
	}
}
