package client

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
)

// FuzzInvokeAnswer has the device answer an invoke with an arbitrary message (protocol selector
// proto % 3: secure channel, IM, BDX; opcode op; payload). Invoke must return without panicking and
// within its timeout, and its outcome must be consistent: a nil error only with a result the IM
// codec accepts for this path, otherwise an error wrapping one of the documented causes.
func FuzzInvokeAnswer(f *testing.F) {
	path := im.CommandPath{Endpoint: 0, Cluster: clusterGeneralCommissioning, Command: cmdArmFailSafe}
	ok, _ := im.EncodeInvokeResponseCommand(im.CommandPath{Endpoint: 0, Cluster: clusterGeneralCommissioning, Command: cmdArmFailSafeResponse}, armFailSafeFields(0, 0))
	f.Add(uint8(1), im.OpInvokeResponse, ok)
	f.Add(uint8(1), im.OpInvokeResponse, im.EncodeInvokeResponseStatus(path, im.Busy))
	f.Add(uint8(1), im.OpStatusResponse, im.EncodeStatusResponse(im.Failure))
	f.Add(uint8(1), im.OpInvokeResponse, []byte{0x15, 0x28, 0x00, 0x36, 0x01, 0x18, 0x18})
	f.Add(uint8(0), securechannel.OpStatusReport, []byte{1, 0, 0, 0, 0, 0, 3, 0})
	f.Add(uint8(2), uint8(0x11), []byte{0, 0, 0, 0})

	c, d, err := memDial(f, testPasscode, Options{InvokeTimeout: 300 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	type answer struct {
		proto message.ProtocolID
		op    uint8
		body  []byte
	}
	// Each invoke carries its own breadcrumb, under which its answer waits: a device goroutine that
	// is late for one input can never answer the next one with it.
	var mu sync.Mutex
	pending := map[uint64]answer{}
	var seq uint64
	d.reply = func(ctx context.Context, x *mrp.Exchange, m message.Message) {
		req, err := im.DecodeInvokeRequest(m.Payload)
		if err != nil || len(req.Requests) != 1 {
			return
		}
		_, breadcrumb, err := decodeArmFailSafe(req.Requests[0].Fields)
		if err != nil {
			return
		}
		mu.Lock()
		a, ok := pending[breadcrumb]
		mu.Unlock()
		if ok {
			_ = x.Send(ctx, a.proto, a.op, a.body)
		}
	}
	f.Fuzz(func(t *testing.T, proto, op uint8, body []byte) {
		p := []message.ProtocolID{message.ProtocolSecureChannel, message.ProtocolIM, message.ProtocolBDX}[proto%3]
		mu.Lock()
		seq++
		id := seq
		pending[id] = answer{p, op, body}
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(pending, id)
			mu.Unlock()
		}()
		res, err := c.Invoke(t.Context(), path.Endpoint, path.Cluster, path.Command, armFailSafeFields(60, id), false)
		if err == nil {
			want, derr := im.DecodeInvokeResult(body, op, path)
			if p != message.ProtocolIM || derr != nil {
				t.Fatalf("Invoke accepted %v opcode 0x%02X %x, which the IM codec refuses (%v)", p, op, body, derr)
			}
			if res.Status != want.Status || res.HasCommand != want.HasCommand || res.Command != want.Command {
				t.Fatalf("Invoke returned %+v, the codec reads %+v", res, want)
			}
			return
		}
		var se *securechannel.StatusError
		var de *im.DecodeError
		switch {
		case errors.Is(err, ErrUnexpectedReply), errors.Is(err, ErrTimeout), errors.As(err, &se), errors.As(err, &de),
			errors.Is(err, im.ErrUnexpectedOpcode), errors.Is(err, im.ErrChunked), errors.Is(err, im.ErrNoResponse),
			errors.Is(err, im.ErrTooManyResponses), errors.Is(err, im.ErrPathMismatch):
		default:
			t.Fatalf("unexpected kind of error: %v", err)
		}
	})
}
