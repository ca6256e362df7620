package bdx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/securechannel"
)

var (
	peerA      = Peer{FabricIndex: 1, NodeID: 0x1122334455667788}
	peerB      = Peer{FabricIndex: 1, NodeID: 0x0000000000000B0B} // another node, same fabric
	peerAOnF2  = Peer{FabricIndex: 2, NodeID: peerA.NodeID}       // same node id, another fabric
	designator = []byte("ota/fff1.8000.local.2")
	t0         = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// image returns n deterministic pseudo-random bytes.
func image(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// pipeEnd is one side of an in-memory exchange. Send copies the payload as a wire would, so neither
// side can see the other's buffers.
type pipeEnd struct {
	in  <-chan Message
	out chan<- Message
}

func pipe() (a, b *pipeEnd) {
	ab, ba := make(chan Message, 4), make(chan Message, 4)
	return &pipeEnd{in: ba, out: ab}, &pipeEnd{in: ab, out: ba}
}

func (p *pipeEnd) Send(ctx context.Context, m Message) error {
	m.Payload = bytes.Clone(m.Payload)
	select {
	case p.out <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipeEnd) Recv(ctx context.Context) (Message, error) {
	select {
	case m := <-p.in:
		return m, nil
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// tamper rewrites what the provider sends, to build misbehaving providers from the real one.
type tamper struct {
	Exchange
	f func(Message) Message
}

func (t tamper) Send(ctx context.Context, m Message) error { return t.Exchange.Send(ctx, t.f(m)) }

// shiftedFile serves the bytes of f from shift bytes earlier: a provider that answers STARTOFS=shift
// but reads from offset 0 (bug #3).
type shiftedFile struct {
	f     *bytes.Reader
	shift int64
}

func (s shiftedFile) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off-s.shift) }
func (s shiftedFile) Size() int64                             { return s.f.Size() }

// failingFile reports a size but fails every read.
type failingFile struct{ size int64 }

func (f failingFile) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }
func (f failingFile) Size() int64                       { return f.size }

// armed returns a responder that serves file to peerA under designator.
func armed(t testing.TB, file []byte, cfg Config) (*Responder, *Arming) {
	t.Helper()
	a := &Arming{}
	a.Arm(peerA, designator, bytes.NewReader(file))
	r, err := NewResponder(a.Lookup, cfg)
	require.NoError(t, err)
	return r, a
}

type transferOutcome struct {
	res      Result
	err      error
	serveErr error
	got      []byte
}

// transfer runs Serve and Receive against each other over a pipe and waits for both.
func transfer(t testing.TB, r *Responder, peer Peer, ex func(Exchange) Exchange, opts ReceiveOptions) transferOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, server := pipe()
	var sx Exchange = server
	if ex != nil {
		sx = ex(server)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx, peer, sx) }()
	if opts.Designator == nil {
		opts.Designator = designator
	}
	var buf bytes.Buffer
	res, err := Receive(ctx, client, &buf, opts)
	var serveErr error
	if res.Stopped && res.Sent == 0 {
		// The receiver went silent: the provider would wait out its idle timeout. End it here.
		cancel()
	}
	select {
	case serveErr = <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	return transferOutcome{res: res, err: err, serveErr: serveErr, got: buf.Bytes()}
}

// mustEncode encodes body or fails the test.
func mustEncode(t testing.TB, body Body) Message {
	t.Helper()
	m, err := Encode(body)
	require.NoError(t, err)
	return m
}

// statusCodeOf decodes m as a BDX StatusReport and returns its code.
func statusCodeOf(t testing.TB, m *Message) StatusCode {
	t.Helper()
	require.NotNil(t, m, "expected a StatusReport reply")
	require.True(t, m.IsStatusReport(), "expected a StatusReport, got %s", m)
	sr, err := securechannel.DecodeStatusReport(m.Payload)
	require.NoError(t, err)
	require.Equal(t, securechannel.GeneralFailure, sr.General)
	require.Equal(t, StatusProtocolID, sr.ProtocolID)
	return StatusCode(sr.ProtocolCode)
}

// script is an Exchange whose Recv plays canned messages and whose Send records; no goroutines.
type script struct {
	replies []Message
	sent    []Message
}

func (s *script) Send(_ context.Context, m Message) error {
	m.Payload = bytes.Clone(m.Payload)
	s.sent = append(s.sent, m)
	return nil
}

func (s *script) Recv(context.Context) (Message, error) {
	if len(s.replies) == 0 {
		return Message{}, io.EOF
	}
	m := s.replies[0]
	s.replies = s.replies[1:]
	return m, nil
}
