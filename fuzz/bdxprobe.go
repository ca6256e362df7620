package fuzz

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
)

// BDXMessage is one message of a BDX probe: an opcode of protocol 0x0002 and its payload, sent as
// it is (ota-provider.md §6.1, §6.3).
type BDXMessage struct {
	Opcode  uint8
	Payload []byte
}

// maxBDXMessages bounds the messages of one probe.
const maxBDXMessages = 8

// stepName names a step in signatures and titles: the command, or "BDX" for a probe.
func stepName(s Step) string {
	if len(s.BDX) > 0 {
		return "BDX"
	}
	return s.Command.String()
}

// genBDX opens a BDX exchange as a requestor that was never offered an image and sends a ReceiveInit
// (well-formed, truncated, mutated, with reserved bits or a lying designator length) or another
// first message, now and then followed by more. The provider must answer each with a StatusReport or
// nothing, never accept the transfer (BDX has no ACL: ota-provider.md §5, §6.5.1, bug #2), and never
// crash or hang.
func genBDX(g *genCtx) []Step {
	init := bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: []uint16{1024, 0, 1, 16, 128, 129, 8192, math.MaxUint16}[g.rng.IntN(8)]}
	n := []int{1, 8, 24, 233, 234, 1000}[g.rng.IntN(6)]
	init.FileDesignator = []byte(g.text(n))
	if g.rng.IntN(4) == 0 {
		init.Range = []bdx.RangeControl{bdx.StartOfs, bdx.DefLen, bdx.StartOfs | bdx.DefLen | bdx.WideRange}[g.rng.IntN(3)]
		if init.Range.Has(bdx.StartOfs) {
			init.StartOffset = []uint64{1, 1 << 20, math.MaxUint32}[g.rng.IntN(3)]
		}
		if init.Range.Has(bdx.DefLen) {
			init.Length = []uint64{0, 1, math.MaxUint32}[g.rng.IntN(3)]
		}
		if init.Range.Has(bdx.WideRange) && g.rng.IntN(2) == 0 {
			init.StartOffset = math.MaxUint64
		}
	}
	payload, err := init.Append(nil)
	if err != nil {
		payload = []byte{0x20, 0x00, 0x00, 0x04, 0x01, 0x00, 'x'}
	}
	first := BDXMessage{Opcode: uint8(bdx.OpReceiveInit), Payload: payload}
	var note string
	switch g.rng.IntN(6) {
	case 0:
		note = fmt.Sprintf("ReceiveInit for a %d-octet designator never offered", n)
	case 1:
		cut := g.rng.IntN(len(payload))
		first.Payload = payload[:cut:cut]
		note = fmt.Sprintf("ReceiveInit cut to %d of %d octets", cut, len(payload))
	case 2:
		first.Payload, note = g.mutateBytes(payload, 1+g.rng.IntN(4))
		note = "ReceiveInit " + note
	case 3:
		p := append([]byte(nil), payload...)
		switch g.rng.IntN(4) {
		case 0:
			p[0] |= 0x80
			note = "ReceiveInit with Transfer Control bit 7 (reserved) set"
		case 1:
			p[1] |= []byte{0x04, 0x08, 0x20, 0x80}[g.rng.IntN(4)]
			note = fmt.Sprintf("ReceiveInit with reserved Range Control bits 0x%02X", p[1])
		case 2:
			p[0] = []byte{0x00, 0x10, 0x0F, 0x2F}[g.rng.IntN(4)]
			note = fmt.Sprintf("ReceiveInit with Transfer Control 0x%02X (no receiver drive, or another version)", p[0])
		default:
			p[0] |= byte(bdx.Async)
			note = "ReceiveInit proposing asynchronous mode"
		}
		first.Payload = p
	case 4: // the designator length field (at offset 4 when Range is 0) lies
		init.Range, init.StartOffset, init.Length = 0, 0, 0
		p, err := init.Append(nil)
		if err != nil {
			p = append([]byte(nil), payload...)
		}
		fdl := []uint16{0, uint16(n + 1), math.MaxUint16}[g.rng.IntN(3)]
		binary.LittleEndian.PutUint16(p[4:], fdl)
		first.Payload = p
		note = fmt.Sprintf("ReceiveInit whose FileDesignatorLength says %d for %d octets", fdl, n)
	default:
		ops := []uint8{uint8(bdx.OpBlockQuery), uint8(bdx.OpBlockAck), uint8(bdx.OpBlockAckEOF), uint8(bdx.OpBlockQueryWithSkip),
			uint8(bdx.OpSendInit), uint8(bdx.OpReceiveAccept), uint8(bdx.OpBlock), 0x00, 0x03, 0x7F, 0xFF}
		first = BDXMessage{Opcode: ops[g.rng.IntN(len(ops))], Payload: g.bytes(g.rng.IntN(17))}
		note = fmt.Sprintf("%s as the first message", bdx.Opcode(first.Opcode))
	}
	msgs := []BDXMessage{first}
	if g.rng.IntN(5) < 2 {
		for k := 1 + g.rng.IntN(3); k > 0; k-- {
			var c [4]byte
			binary.LittleEndian.PutUint32(c[:], uint32(g.rng.IntN(3)))
			op := []bdx.Opcode{bdx.OpBlockQuery, bdx.OpBlockAckEOF, bdx.OpBlockAck, bdx.OpReceiveInit}[g.rng.IntN(4)]
			p := c[:]
			if op == bdx.OpReceiveInit {
				p = payload
			}
			msgs = append(msgs, BDXMessage{Opcode: uint8(op), Payload: append([]byte(nil), p...)})
		}
		note += fmt.Sprintf(", then %d more messages", len(msgs)-1)
	}
	return []Step{{Requestor: g.role(), TokenFrom: -1, BDX: msgs, Note: note}}
}

// bdxExchange guards a target's BDX exchange like the target's other calls.
type bdxExchange struct {
	g  *guard
	ex harness.Exchange
}

func (e bdxExchange) send(ctx context.Context, m bdx.Message) error {
	_, err := guarded(ctx, e.g, func() (struct{}, error) { return struct{}{}, e.ex.Send(ctx, m) })
	return err
}

func (e bdxExchange) recv(ctx context.Context) (bdx.Message, error) {
	return guarded(ctx, e.g, func() (bdx.Message, error) { return e.ex.Recv(ctx) })
}

func (e bdxExchange) close(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	guarded(ctx, e.g, func() (struct{}, error) { return struct{}{}, e.ex.Close() })
}

// probeBDX runs a BDX probe step as req and judges each reply. unarmed says that req was never
// offered an image, so that accepting its transfer is a finding.
// An error is errStuck: the guard refused the call.
func (r *runner) probeBDX(ctx context.Context, req ota.Requestor, s Step, unarmed, record bool) ([]problem, []harness.ExchangeRecord, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var recs []harness.ExchangeRecord
	transport := func(what string, err error) ([]problem, []harness.ExchangeRecord, error) {
		if errors.Is(err, errStuck) {
			return nil, recs, err
		}
		timedOut := cctx.Err() != nil && ctx.Err() == nil
		if record {
			recs = append(recs, harness.ExchangeRecord{Step: s.Note, Requestor: req.String(), Request: what, Status: "transport error: " + firstLine(err.Error())})
		}
		probs, _ := judge(answer{name: "BDX", err: err, timedOut: timedOut}, r.cfg.Strict, r.cfg.Timeout)
		for i := range probs {
			probs[i].message = what + ": " + probs[i].message
		}
		return probs, recs, nil
	}
	r.sum.Executions++
	raw, err := guarded(cctx, r.target, func() (harness.Exchange, error) { return r.target.t.OpenBDX(cctx, req) })
	if err != nil {
		return transport("opening a BDX exchange", err)
	}
	ex := bdxExchange{g: r.target, ex: raw}
	defer ex.close(r.cfg.Timeout)
	for i, m := range s.BDX {
		msg := bdx.Message{Protocol: bdx.ProtocolID, Opcode: m.Opcode, Payload: m.Payload}
		what := fmt.Sprintf("BDX message %d (%s)", i, bdx.Opcode(m.Opcode))
		if i > 0 {
			r.sum.Executions++
		}
		if err := ex.send(cctx, msg); err != nil {
			return transport("sending "+what, err)
		}
		reply, err := ex.recv(cctx)
		var got *bdx.Message
		switch {
		case errors.Is(err, harness.ErrNoReply):
		case err != nil:
			return transport("waiting for the reply to "+what, err)
		default:
			got = &reply
		}
		if record {
			rec := harness.ExchangeRecord{Step: s.Note, Requestor: req.String(), Request: "BDX " + bdx.Opcode(m.Opcode).String(), RequestHex: hexOf(m.Payload), Status: "no reply"}
			if got != nil {
				rec.Status, rec.Response, rec.ResponseHex = "", got.String(), hexOf(got.Payload)
			}
			recs = append(recs, rec)
		}
		if probs := judgeBDX(what, got, unarmed); len(probs) > 0 {
			return probs, recs, nil
		}
	}
	return nil, recs, nil
}

// judgeBDX checks the provider's reply to one probe message: nothing, a StatusReport that decodes,
// or a BDX message a sender may send that decodes, and no acceptance for a requestor never offered
// an image.
func judgeBDX(what string, reply *bdx.Message, unarmed bool) []problem {
	if reply == nil {
		return nil
	}
	const sec = "ota-provider.md §6.1, §6.3 (the provider answers with a StatusReport, ReceiveAccept, Block or BlockEOF)"
	malformed := func(kind, format string, args ...any) []problem {
		return []problem{{oracle: OracleMalformed, level: ota.LevelMust, section: sec, expected: "a StatusReport or a well-formed BDX message",
			actual: reply.String(), message: what + ": " + fmt.Sprintf(format, args...), sig: signature(OracleMalformed, "BDX", kind, "")}}
	}
	if reply.IsStatusReport() {
		if _, err := securechannel.DecodeStatusReport(reply.Payload); err != nil {
			return malformed("status-report", "the StatusReport does not decode: %v", err)
		}
		return nil
	}
	body, err := bdx.Decode(*reply)
	if err != nil {
		return malformed("message", "the reply does not decode: %v", err)
	}
	switch body.(type) {
	case bdx.ReceiveAccept, bdx.Block, bdx.BlockEOF:
	default:
		return malformed("unexpected", "a provider (the sender) never sends %s", bdx.Opcode(reply.Opcode))
	}
	if unarmed {
		return []problem{{oracle: OracleStatus, level: ota.LevelMust,
			section:  "ota-provider.md §5, §6.5.1 (BDX has no ACL: serve only the requestor the image was offered to; bug #2)",
			expected: "a StatusReport refusing the transfer (FILE_DESIGNATOR_UNKNOWN)", actual: reply.String(),
			message: what + ": the provider answered " + reply.String() + " to a requestor it never offered an image",
			sig:     signature(OracleStatus, "BDX", "refusal", "", bdx.Opcode(reply.Opcode).String())}}
	}
	return nil
}
