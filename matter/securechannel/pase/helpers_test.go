package pase

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

const testPasscode = 20202021

// loadJSON decodes testdata/<name> into v. The files are copies of /work/shared/vectors (see its
// README for provenance).
func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// seeded returns a reproducible byte stream (ChaCha8 is an io.Reader).
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x70617365)) }

// pair is a commissioner node and a device node joined by an in-memory network.
type pair struct {
	commissioner, device *mrp.Node
	deviceAddr           netip.AddrPort
}

func newPair(t testing.TB, a, b transport.Transport) pair {
	t.Helper()
	cn, err := mrp.NewNode(t.Context(), mrp.Config{Transport: a, Rand: seededRand(1)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cn.Close() })
	dn, err := mrp.NewNode(t.Context(), mrp.Config{Transport: b, Rand: seededRand(2)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dn.Close() })
	return pair{commissioner: cn, device: dn, deviceAddr: b.LocalAddr()}
}

func memPair(t testing.TB) pair {
	a, b := transport.Pipe()
	return newPair(t, a, b)
}

// deviceResult is what the in-process device saw of one handshake.
type deviceResult struct {
	s   *session.Secure
	err error
}

// serveDevice runs a PASE device on p.device until the test ends: every exchange opened with a
// PBKDFParamRequest gets a handshake; on established sessions it echoes secure-channel-free
// application messages ("echo: " + payload) so that tests can prove both sides share the keys.
// Handshake outcomes are sent to the returned channel.
func serveDevice(t testing.TB, p pair, cfg ResponderConfig) <-chan deviceResult {
	t.Helper()
	if cfg.Passcode == 0 {
		cfg.Passcode = testPasscode
	}
	if cfg.Rand == nil {
		cfg.Rand = seeded(99)
	}
	r, err := NewResponder(p.device, cfg)
	require.NoError(t, err)
	results := make(chan deviceResult, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); _ = p.device.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			x, err := p.device.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() {
				defer x.Close()
				first, err := x.Receive(ctx)
				if err != nil {
					return
				}
				if !x.Session().Secure() {
					s, err := r.Handshake(ctx, x, first)
					select {
					case results <- deviceResult{s, err}:
					default:
					}
					return
				}
				if first.Protocol.ProtocolID == message.ProtocolIM {
					_ = x.Send(ctx, message.ProtocolIM, first.Protocol.Opcode+1, append([]byte("echo: "), first.Payload...))
				}
			})
		}
	})
	return results
}

// script is a hand-written device: for each exchange a commissioner opens, play runs with the first
// message already received.
func script(t testing.TB, node *mrp.Node, play func(ctx context.Context, x *mrp.Exchange, first message.Message)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); _ = node.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			x, err := node.Accept(ctx)
			if err != nil {
				return
			}
			wg.Go(func() {
				defer x.Close()
				first, err := x.Receive(ctx)
				if err != nil {
					return
				}
				play(ctx, x, first)
			})
		}
	})
}

// echoResponse builds a PBKDFParamResponse to the request in first, with tweak applied.
func echoResponse(t testing.TB, first message.Message, tweak func(*PBKDFParamResponse)) []byte {
	req, err := DecodePBKDFParamRequest(first.Payload)
	if err != nil {
		t.Errorf("scripted device: %v", err)
		return nil
	}
	resp := PBKDFParamResponse{InitiatorRandom: req.InitiatorRandom, ResponderSessionID: 0x1234,
		PBKDF: &PBKDFParameters{Iterations: 1000, Salt: make([]byte, 16)}}
	if tweak != nil {
		tweak(&resp)
	}
	b, err := resp.Append(nil)
	if err != nil {
		t.Errorf("scripted device: %v", err)
	}
	return b
}

// useSession proves that the commissioner's session talks to the device's: an IM message sent on it
// comes back echoed by serveDevice.
func useSession(t testing.TB, ctx context.Context, node *mrp.Node, s *session.Secure) {
	t.Helper()
	x, err := node.NewExchange(s)
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Send(ctx, message.ProtocolIM, message.OpIMInvokeRequest, []byte("ping")))
	m, err := x.Receive(ctx)
	require.NoError(t, err)
	require.Equal(t, "echo: ping", string(m.Payload))
}

func statusReport(g securechannel.GeneralCode, code uint16, data ...byte) []byte {
	return securechannel.StatusReport{General: g, ProtocolID: uint32(securechannel.ProtocolID), ProtocolCode: code, ProtocolData: data}.Encode()
}

func asDecodeError(t testing.TB, err error) *DecodeError {
	t.Helper()
	var de *DecodeError
	require.True(t, errors.As(err, &de), "error %v is not a *DecodeError", err)
	return de
}
