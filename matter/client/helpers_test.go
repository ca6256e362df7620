package client

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/securechannel/pase"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
	"github.com/otaconf/otaconf/tlv"
)

const (
	testPasscode = 20202021

	clusterGeneralCommissioning = 0x0030
	cmdArmFailSafe              = 0x00
	cmdArmFailSafeResponse      = 0x01
	clusterSlow                 = 0xFFF1_FC00 // a test cluster whose commands the device never answers
)

func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x636c69)) }

func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(s)
}

// handler answers one command: a response command (id and anonymous-structure fields) or a status.
type handler func(fields []byte) (respCommand uint32, respFields []byte, status im.Status)

// device is an in-process Matter device: a PASE responder plus a tiny IM server built on im's
// server-side codec (DecodeInvokeRequest, EncodeInvokeResponseCommand/Status, StatusResponse).
type device struct {
	t        testing.TB
	node     *mrp.Node
	addr     netip.AddrPort
	handlers map[im.CommandPath]handler
	// reply, when set, replaces the IM server: it gets each request and sends what it likes.
	reply func(ctx context.Context, x *mrp.Exchange, req message.Message)

	mu           sync.Mutex
	sessions     []*session.Secure // established by PASE
	closedByPeer []*session.Secure // removed on the commissioner's CloseSession
	timed        []uint16          // TimedRequest timeouts seen
	requests     []im.InvokeRequest
}

// newDevice starts a device on tr until the test ends.
func newDevice(t testing.TB, tr transport.Transport) *device {
	t.Helper()
	node, err := mrp.NewNode(t.Context(), mrp.Config{Transport: tr, Rand: seededRand(2)})
	require.NoError(t, err)
	r, err := pase.NewResponder(node, pase.ResponderConfig{Passcode: testPasscode, Rand: seeded(3)})
	require.NoError(t, err)
	d := &device{t: t, node: node, addr: tr.LocalAddr(), handlers: map[im.CommandPath]handler{
		{Endpoint: 0, Cluster: clusterGeneralCommissioning, Command: cmdArmFailSafe}: armFailSafe,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); _ = node.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			x, err := node.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() { d.serve(ctx, x, r) })
		}
	})
	return d
}

func (d *device) serve(ctx context.Context, x *mrp.Exchange, r *pase.Responder) {
	defer x.Close()
	first, err := x.Receive(ctx)
	if err != nil {
		return
	}
	if !x.Session().Secure() {
		if s, err := r.Handshake(ctx, x, first); err == nil {
			d.mu.Lock()
			d.sessions = append(d.sessions, s)
			d.mu.Unlock()
		}
		return
	}
	if first.Is(message.ProtocolSecureChannel, securechannel.OpStatusReport) {
		sr, err := securechannel.DecodeStatusReport(first.Payload)
		if err == nil && sr.General == securechannel.GeneralSuccess && sr.ProtocolCode == securechannel.CodeCloseSession {
			s := x.Session().(*session.Secure)
			d.node.RemoveSession(s)
			d.mu.Lock()
			d.closedByPeer = append(d.closedByPeer, s)
			d.mu.Unlock()
		}
		return
	}
	if d.reply != nil {
		d.reply(ctx, x, first)
		return
	}
	d.answerIM(ctx, x, first, false)
}

// answerIM is the IM server: TimedRequest → StatusResponse SUCCESS, then the InvokeRequest on the
// same exchange; InvokeRequest → the handler's response command or status.
func (d *device) answerIM(ctx context.Context, x *mrp.Exchange, m message.Message, timedSeen bool) {
	switch {
	case m.Is(message.ProtocolIM, message.OpIMTimedRequest):
		tr, err := im.DecodeTimedRequest(m.Payload)
		if err != nil {
			_ = x.Send(ctx, message.ProtocolIM, im.OpStatusResponse, im.EncodeStatusResponse(im.InvalidAction))
			return
		}
		d.mu.Lock()
		d.timed = append(d.timed, tr.TimeoutMs)
		d.mu.Unlock()
		if x.Send(ctx, message.ProtocolIM, im.OpStatusResponse, im.EncodeStatusResponse(im.Success)) != nil {
			return
		}
		next, err := x.Receive(ctx)
		if err == nil {
			d.answerIM(ctx, x, next, true)
		}
	case m.Is(message.ProtocolIM, message.OpIMInvokeRequest):
		req, err := im.DecodeInvokeRequest(m.Payload)
		if err != nil || len(req.Requests) != 1 {
			_ = x.Send(ctx, message.ProtocolIM, im.OpStatusResponse, im.EncodeStatusResponse(im.InvalidAction))
			return
		}
		d.mu.Lock()
		d.requests = append(d.requests, req)
		d.mu.Unlock()
		if req.TimedRequest != timedSeen {
			// Core §8.7.2.2: a TimedRequest flag that does not match the exchange's history.
			_ = x.Send(ctx, message.ProtocolIM, im.OpStatusResponse, im.EncodeStatusResponse(im.TimedRequestMismatch))
			return
		}
		cd := req.Requests[0]
		if cd.Path.Cluster == clusterSlow {
			<-ctx.Done()
			return
		}
		h, ok := d.handlers[cd.Path]
		var payload []byte
		if !ok {
			payload = im.EncodeInvokeResponseStatus(cd.Path, im.UnsupportedCommand)
		} else if cmd, fields, status := h(cd.Fields); status != im.Success {
			payload = im.EncodeInvokeResponseStatus(cd.Path, status)
		} else {
			payload, err = im.EncodeInvokeResponseCommand(im.CommandPath{Endpoint: cd.Path.Endpoint, Cluster: cd.Path.Cluster, Command: cmd}, fields)
			if err != nil {
				d.t.Errorf("device: %v", err)
				return
			}
		}
		_ = x.Send(ctx, message.ProtocolIM, im.OpInvokeResponse, payload)
	}
}

// armFailSafe decodes ArmFailSafe {0 ExpiryLengthSeconds u16, 1 Breadcrumb u64} and answers
// ArmFailSafeResponse {0 ErrorCode 0 (OK), 1 DebugText ""}; malformed fields get INVALID_COMMAND.
func armFailSafe(fields []byte) (uint32, []byte, im.Status) {
	expiry, breadcrumb, err := decodeArmFailSafe(fields)
	if err != nil || expiry > 0xFFFF {
		return 0, nil, im.InvalidCommand
	}
	_ = breadcrumb
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(0), 0)
	w.UTF8(tlv.Context(1), "")
	w.End()
	b, _ := w.Finish()
	return cmdArmFailSafeResponse, b, im.Success
}

func decodeArmFailSafe(fields []byte) (expiry, breadcrumb uint64, err error) {
	r := tlv.NewReader(fields)
	if err := r.Next(); err != nil {
		return 0, 0, err
	}
	if err := r.EnterContainer(); err != nil {
		return 0, 0, err
	}
	seen := 0
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		v, err := r.Uint()
		if err != nil {
			return 0, 0, err
		}
		switch r.Tag() {
		case tlv.Context(0):
			expiry, seen = v, seen|1
		case tlv.Context(1):
			breadcrumb, seen = v, seen|2
		}
	}
	if seen != 3 {
		return 0, 0, fmt.Errorf("ArmFailSafe fields incomplete (%b)", seen)
	}
	return expiry, breadcrumb, nil
}

// armFailSafeFields encodes ArmFailSafe's request fields.
func armFailSafeFields(expiry uint16, breadcrumb uint64) []byte {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(0), uint64(expiry))
	w.Uint(tlv.Context(1), breadcrumb)
	w.End()
	b, _ := w.Finish()
	return b
}

// errorCodeOf reads field 0 (ErrorCode) of a response command's fields.
func errorCodeOf(t testing.TB, fields []byte) uint64 {
	t.Helper()
	r := tlv.NewReader(fields)
	require.NoError(t, r.Next())
	require.NoError(t, r.EnterContainer())
	for {
		err := r.Next()
		require.NoError(t, err, "no ErrorCode (tag 0) in %x", fields)
		if r.Tag() == tlv.Context(0) {
			v, err := r.Uint()
			require.NoError(t, err)
			return v
		}
	}
}

func (d *device) snapshot() (sessions, closed []*session.Secure, timed []uint16, reqs []im.InvokeRequest) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*session.Secure(nil), d.sessions...), append([]*session.Secure(nil), d.closedByPeer...),
		append([]uint16(nil), d.timed...), append([]im.InvokeRequest(nil), d.requests...)
}

// memDial dials an in-process device over an in-memory network.
func memDial(t testing.TB, passcode uint32, opts Options) (*Conn, *device, error) {
	t.Helper()
	a, b := transport.Pipe()
	d := newDevice(t, b)
	opts.Transport = a
	if opts.Rand == nil {
		opts.Rand = seededRand(1)
	}
	if opts.PASE.Rand == nil {
		opts.PASE.Rand = seeded(4)
	}
	c, err := Dial(t.Context(), d.addr, passcode, opts)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, d, err
}
