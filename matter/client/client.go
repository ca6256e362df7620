// Package client dials a Matter device by IP and port with its setup passcode or code, opens a PASE
// session and invokes commands on it, one exchange per invoke. It is not a commissioner (no
// certificates, no CASE) and does no discovery: the caller knows the address.
package client

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/securechannel/pase"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/setup"
	"github.com/otaconf/otaconf/matter/transport"
)

// Defaults for zero Options fields.
const (
	// DefaultInvokeTimeout bounds one Invoke. A device answers within MRP's budget (about 6 s for
	// five transmissions at the default intervals) plus its own processing time.
	DefaultInvokeTimeout = 30 * time.Second
	// DefaultTimedTimeout is the TimedRequest timeout of a timed invoke (Core §10.7.8): how long the
	// device waits for the InvokeRequest after it acknowledged the TimedRequest.
	DefaultTimedTimeout = 10 * time.Second
	// closeSendTimeout bounds the CloseSession send in Close.
	closeSendTimeout = time.Second
)

// Sentinels a caller can branch on with errors.Is.
var (
	// ErrClosed: the Conn was closed (or its node stopped) before or during the call.
	ErrClosed = errors.New("connection closed")
	// ErrTimeout: the device did not acknowledge or answer an invoke in time.
	ErrTimeout = errors.New("timed out")
	// ErrUnexpectedReply: the device answered an invoke with a message that is not an IM answer.
	ErrUnexpectedReply = errors.New("unexpected reply")
)

// Options configures Dial. The zero value dials over UDP with the defaults.
type Options struct {
	// LocalAddr is the local UDP address; the zero value is the loopback address of the device's
	// family when the device is on loopback, else the unspecified address of that family, port 0.
	LocalAddr netip.AddrPort
	// Transport, if set, carries the messages instead of a UDP socket (tests use an in-memory one);
	// the Conn owns it and closes it.
	Transport transport.Transport
	// PASE configures the handshake (timeout, advertised session parameters, randomness).
	PASE pase.Options
	// Rand drives the MRP node's random choices (jitter, exchange ids); nil seeds from crypto/rand.
	Rand *rand.Rand
	// InvokeTimeout bounds each Invoke on top of its ctx; 0 means DefaultInvokeTimeout.
	InvokeTimeout time.Duration
	// TimedTimeout is the timeout a timed invoke's TimedRequest announces; 0 means
	// DefaultTimedTimeout. It must fit in 65535 ms.
	TimedTimeout time.Duration
	// Logger receives debug logs of the node, PASE and invokes; nil logs nothing.
	Logger *slog.Logger
}

// Conn is an open PASE session to a device. Invoke may be called concurrently; each call runs on
// its own exchange.
type Conn struct {
	node   *mrp.Node
	tr     transport.Transport
	sess   *session.Secure
	peer   netip.AddrPort
	opts   Options
	log    *slog.Logger
	closed chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// DialCode is Dial with the passcode read from a setup code: an "MT:" QR code payload or an 11/21
// digit manual pairing code (Core §5.1).
func DialCode(ctx context.Context, addr netip.AddrPort, code string, opts Options) (*Conn, error) {
	p, err := setup.Parse(code)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: setup code: %w", addr, err)
	}
	return Dial(ctx, addr, p.Passcode, opts)
}

// Dial opens a UDP socket (or uses opts.Transport), starts an MRP node on it and runs PASE with the
// device at addr. ctx bounds only the dial; the Conn lives until Close. PASE failures wrap the
// pase sentinels (pase.ErrConfirmation for a wrong passcode, pase.ErrTimeout, ...).
func Dial(ctx context.Context, addr netip.AddrPort, passcode uint32, opts Options) (*Conn, error) {
	if !addr.IsValid() || addr.Port() == 0 {
		return nil, fmt.Errorf("client: dial: %q is not an IP address and port", addr)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	opts = opts.withDefaults()
	if opts.TimedTimeout > 65535*time.Millisecond {
		return nil, fmt.Errorf("client: dial %s: TimedTimeout %v does not fit the 16-bit millisecond field of TimedRequest (Core §10.7.8)", addr, opts.TimedTimeout)
	}
	tr := opts.Transport
	if tr == nil {
		network, local := udpLocal(addr, opts.LocalAddr)
		u, err := transport.ListenUDP(network, local)
		if err != nil {
			return nil, fmt.Errorf("client: dial %s: %w", addr, err)
		}
		tr = u
	}
	rnd := opts.Rand
	if rnd == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			_ = tr.Close()
			return nil, fmt.Errorf("client: dial %s: seeding: %w", addr, err)
		}
		rnd = rand.New(rand.NewChaCha8(seed))
	}
	// The node outlives ctx: Close stops it.
	node, err := mrp.NewNode(context.WithoutCancel(ctx), mrp.Config{Transport: tr, Rand: rnd, Logger: opts.Logger})
	if err != nil {
		_ = tr.Close()
		return nil, fmt.Errorf("client: dial %s: %w", addr, err)
	}
	po := opts.PASE
	if po.Logger == nil {
		po.Logger = opts.Logger
	}
	sess, err := pase.Initiate(ctx, node, addr, passcode, po)
	if err != nil {
		_ = node.Close()
		return nil, fmt.Errorf("client: dial %s from %s: %w", addr, tr.LocalAddr(), err)
	}
	c := &Conn{node: node, tr: tr, sess: sess, peer: addr, opts: opts, log: opts.Logger, closed: make(chan struct{})}
	c.log.Debug("client: connected", "peer", addr, "local", tr.LocalAddr(), "session", sess.String())
	return c, nil
}

func (o Options) withDefaults() Options {
	if o.InvokeTimeout <= 0 {
		o.InvokeTimeout = DefaultInvokeTimeout
	}
	if o.TimedTimeout <= 0 {
		o.TimedTimeout = DefaultTimedTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// udpLocal picks the socket's network and local address for a device at addr: the device's family
// (a "udp4" socket cannot reach an IPv6 address and vice versa), and loopback for a loopback device
// so that nothing listens beyond the host.
func udpLocal(addr, local netip.AddrPort) (string, netip.AddrPort) {
	v4 := addr.Addr().Is4()
	network := "udp6"
	if v4 {
		network = "udp4"
	}
	if local.IsValid() {
		return network, local
	}
	switch {
	case v4 && addr.Addr().IsLoopback():
		return network, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	case v4:
		return network, netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	case addr.Addr().IsLoopback():
		return network, netip.AddrPortFrom(netip.IPv6Loopback(), 0)
	}
	return network, netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
}

// Session is the PASE session.
func (c *Conn) Session() *session.Secure { return c.sess }

// RemoteAddr is the device's address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.peer }

// LocalAddr is this side's transport address.
func (c *Conn) LocalAddr() netip.AddrPort { return c.tr.LocalAddr() }

// Invoke invokes one command on the device (Core §8.8, §10.7.9): a new exchange, an InvokeRequest
// with the command fields (an anonymous TLV structure, nil for none), and the device's
// InvokeResponse or StatusResponse, whose acknowledgement is sent when the exchange closes. A
// timed invoke first sends a TimedRequest on the same exchange (§10.7.8) and needs its SUCCESS.
//
// A device's answer is returned as an im.Result with a nil error, whether it is a response command
// or a status (use Result.Err for the status as an error); an error means no valid answer came:
// ErrTimeout, ErrClosed, ErrUnexpectedReply, a *securechannel.StatusError (the device sent a
// StatusReport), or an *im.DecodeError / im sentinel for a malformed answer.
func (c *Conn) Invoke(ctx context.Context, endpoint uint16, cluster, command uint32, fields []byte, timed bool) (im.Result, error) {
	path := im.CommandPath{Endpoint: endpoint, Cluster: cluster, Command: command}
	what := fmt.Sprintf("client: invoke (%v) on %s", path, c.peer)
	select {
	case <-c.closed:
		return im.Result{}, fmt.Errorf("%s: %w", what, ErrClosed)
	default:
	}
	req, err := im.EncodeInvoke(path, fields, timed)
	if err != nil {
		return im.Result{}, fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.InvokeTimeout)
	defer cancel()
	x, err := c.node.NewExchange(c.sess)
	if err != nil {
		return im.Result{}, fmt.Errorf("%s: %w: %w", what, ErrClosed, err)
	}
	defer x.Close() // acknowledges the device's answer at once
	start := time.Now()

	if timed {
		tr, _ := im.TimedRequest{TimeoutMs: uint16(c.opts.TimedTimeout / time.Millisecond)}.Append(nil)
		m, err := c.exchange(ctx, x, im.OpTimedRequest, tr, "TimedRequest")
		if err != nil {
			return im.Result{}, fmt.Errorf("%s: %w", what, err)
		}
		if m.Protocol.Opcode != im.OpStatusResponse {
			return im.Result{}, fmt.Errorf("%s: answer to TimedRequest is IM opcode 0x%02X, want StatusResponse: %w", what, m.Protocol.Opcode, ErrUnexpectedReply)
		}
		sr, err := im.DecodeStatusResponse(m.Payload)
		if err != nil {
			return im.Result{}, fmt.Errorf("%s: answer to TimedRequest: %w", what, err)
		}
		if sr.Status != im.Success {
			// The device refused the timed interaction; that is its answer to the invoke.
			return im.Result{Status: sr.Status}, nil
		}
	}
	m, err := c.exchange(ctx, x, im.OpInvokeRequest, req, "InvokeRequest")
	if err != nil {
		return im.Result{}, fmt.Errorf("%s: %w", what, err)
	}
	res, err := im.DecodeInvokeResult(m.Payload, m.Protocol.Opcode, path)
	if err != nil {
		return im.Result{}, fmt.Errorf("%s: %w", what, err)
	}
	c.log.Debug("client: invoke answered", "path", path.String(), "status", res.Status.String(), "command", res.Command, "rtt", time.Since(start))
	return res, nil
}

// exchange sends one IM message on x and returns the device's IM answer.
func (c *Conn) exchange(ctx context.Context, x *mrp.Exchange, op uint8, payload []byte, name string) (message.Message, error) {
	if err := x.Send(ctx, message.ProtocolIM, op, payload); err != nil {
		return message.Message{}, c.waitErr(ctx, "acknowledgement of "+name, err)
	}
	m, err := x.Receive(ctx)
	if err != nil {
		return message.Message{}, c.waitErr(ctx, "answer to "+name, err)
	}
	switch {
	case m.Is(message.ProtocolSecureChannel, securechannel.OpStatusReport):
		r, err := securechannel.DecodeStatusReport(m.Payload)
		if err != nil {
			return m, fmt.Errorf("answer to %s is an undecodable StatusReport: %w: %w", name, ErrUnexpectedReply, err)
		}
		return m, fmt.Errorf("answer to %s: %w", name, &securechannel.StatusError{Report: r})
	case m.Protocol.ProtocolID != message.ProtocolIM:
		return m, fmt.Errorf("answer to %s is %s: %w", name, message.OpName(m.Protocol.ProtocolID, m.Protocol.Opcode), ErrUnexpectedReply)
	}
	return m, nil
}

func (c *Conn) waitErr(ctx context.Context, waiting string, err error) error {
	switch {
	case errors.Is(err, mrp.ErrAckTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no %s: %w: %w", waiting, ErrTimeout, err)
	case errors.Is(err, mrp.ErrNodeClosed), errors.Is(err, mrp.ErrSessionRemoved), errors.Is(err, mrp.ErrExchangeClosed):
		return fmt.Errorf("no %s: %w: %w", waiting, ErrClosed, err)
	}
	return fmt.Errorf("no %s: %w", waiting, err)
}

// Close ends the session and releases the socket. It first tells the device with the secure
// channel's CloseSession StatusReport (SUCCESS, CLOSE_SESSION; Core App. D), sent
// without requesting an acknowledgement as CHIP and matter.js send it: the device drops the session
// at once instead of keeping it until it times out, and accepts a new PASE handshake (matter.js
// refuses one while a PASE session exists). Invokes in progress fail with ErrClosed. Calling Close
// again returns the first result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		err := c.sendCloseSession()
		c.node.RemoveSession(c.sess)
		if cerr := c.node.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		c.closeErr = err
	})
	return c.closeErr
}

// sendCloseSession seals the CloseSession report on the session and writes it to the transport
// directly: mrp.Exchange.Send always asks for an acknowledgement, which a CloseSession must not do
// (the device may drop the session before it acks, and the sender would retransmit into the void).
// An exchange is opened only to reserve a fresh exchange id.
func (c *Conn) sendCloseSession() error {
	x, err := c.node.NewExchange(c.sess)
	if err != nil {
		return fmt.Errorf("client: close %s: CloseSession: %w", c.peer, err)
	}
	defer x.Close()
	r := securechannel.StatusReport{General: securechannel.GeneralSuccess, ProtocolID: uint32(securechannel.ProtocolID),
		ProtocolCode: securechannel.CodeCloseSession}
	ph := message.ProtocolHeader{Initiator: true, ExchangeID: x.ID(), ProtocolID: message.ProtocolSecureChannel, Opcode: securechannel.OpStatusReport}
	wire, _, err := c.sess.Seal(&ph, r.Encode())
	if err != nil {
		return fmt.Errorf("client: close %s: CloseSession: %w", c.peer, err)
	}
	peer, err := c.node.SessionPeer(c.sess)
	if err != nil {
		peer = c.peer
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeSendTimeout)
	defer cancel()
	if err := c.tr.Send(ctx, peer, wire); err != nil {
		return fmt.Errorf("client: close %s: CloseSession: %w", c.peer, err)
	}
	return nil
}
