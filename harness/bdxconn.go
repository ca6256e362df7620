package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// ReplyTimeout bounds each wait for a single BDX reply in message-level cases.
const ReplyTimeout = 5 * time.Second

// BDXConn is a raw BDX exchange for message-level cases (TC-BDX-1.6 and the like).
type BDXConn struct {
	t  *T
	r  ota.Requestor
	ex Exchange
}

// Cleanup registers f to run when the case ends, last registered first.
func (t *T) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// OpenBDX opens a raw BDX exchange as requestor r; it is closed when the case ends.
func (t *T) OpenBDX(r ota.Requestor) *BDXConn {
	ex, err := t.target.OpenBDX(t.ctx, r)
	if err != nil {
		t.errorOut("opening a BDX exchange as %s: %v", r, err)
	}
	t.Cleanup(func() { ex.Close() })
	return &BDXConn{t: t, r: r, ex: ex}
}

// Send encodes and sends a BDX message.
func (c *BDXConn) Send(body bdx.Body) {
	m, err := bdx.Encode(body)
	if err != nil {
		c.t.Fatalf("encoding %s: %v", body.Opcode(), err)
	}
	c.SendRaw(m)
}

// SendRaw sends a message as it is (for malformed ones).
func (c *BDXConn) SendRaw(m bdx.Message) {
	c.t.res.Exchanges = append(c.t.res.Exchanges, ExchangeRecord{Step: c.t.step, Requestor: c.r.String(), Request: "BDX " + describeMessage(m), RequestHex: hexOf(m.Payload)})
	if err := c.ex.Send(c.t.ctx, m); err != nil {
		c.t.errorOut("sending BDX %s: %v", describeMessage(m), err)
	}
}

// Recv waits for the provider's next message; ok is false when none came within ReplyTimeout.
func (c *BDXConn) Recv() (m bdx.Message, ok bool) {
	ctx, cancel := context.WithTimeout(c.t.ctx, ReplyTimeout)
	defer cancel()
	m, err := c.ex.Recv(ctx)
	rec := &c.t.res.Exchanges[len(c.t.res.Exchanges)-1]
	switch {
	case err == nil:
		rec.Response, rec.ResponseHex = describeMessage(m), hexOf(m.Payload)
		return m, true
	case errors.Is(err, ErrNoReply), errors.Is(err, context.DeadlineExceeded) && c.t.ctx.Err() == nil:
		rec.Response = "(no reply)"
		return bdx.Message{}, false
	default:
		c.t.errorOut("receiving BDX: %v", err)
		return bdx.Message{}, false
	}
}

// ExpectStatus requires the provider's next message to be a StatusReport with BDX code want.
func (c *BDXConn) ExpectStatus(want bdx.StatusCode, section string) {
	m, ok := c.Recv()
	actual := "no reply"
	if ok {
		actual = describeMessage(m)
		if m.IsStatusReport() {
			if code, isBDX := statusCode(m); isBDX && code == want {
				return
			}
		}
	}
	c.t.Failf(ota.LevelMust, "bdx.status", section, "StatusReport "+want.String(), actual, "expected the provider to refuse with %s", want)
}

// Expect requires the provider's next message to have opcode op and returns it decoded.
func (c *BDXConn) Expect(op bdx.Opcode, section string) bdx.Body {
	m, ok := c.Recv()
	actual := "no reply"
	if ok {
		actual = describeMessage(m)
		if m.Protocol == bdx.ProtocolID && bdx.Opcode(m.Opcode) == op {
			body, err := bdx.Decode(m)
			if err == nil {
				return body
			}
			actual += " that does not decode: " + err.Error()
		}
	}
	c.t.Failf(ota.LevelMust, "bdx.reply", section, op.String(), actual, "expected %s", op)
	c.t.stop()
	return nil
}

func statusCode(m bdx.Message) (bdx.StatusCode, bool) {
	r, err := decodeStatus(m)
	if err != nil {
		return 0, false
	}
	return bdx.StatusOf(r)
}

func describeMessage(m bdx.Message) string {
	if m.IsStatusReport() {
		if r, err := decodeStatus(m); err == nil {
			if code, ok := bdx.StatusOf(r); ok {
				return "StatusReport " + code.String()
			}
			return r.String()
		}
		return "StatusReport (malformed)"
	}
	if m.Protocol == bdx.ProtocolID {
		return bdx.Opcode(m.Opcode).String()
	}
	return fmt.Sprintf("protocol 0x%04X opcode 0x%02X", m.Protocol, m.Opcode)
}
