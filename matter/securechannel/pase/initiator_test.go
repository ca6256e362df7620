package pase

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

// A commissioner with the right passcode gets a session the device shares: both derived the same
// keys, the session ids cross over, and each side holds the other's MRP parameters.
func TestInitiateEstablishesASessionTheDeviceShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := memPair(t)
		deviceMRP := SessionParams{MRP: session.MRPParams{Idle: 1234 * time.Millisecond, Active: 321 * time.Millisecond, ActiveThreshold: 5 * time.Second}}
		results := serveDevice(t, p, ResponderConfig{SessionParams: &deviceMRP, Iterations: 2000})
		ourMRP := SessionParams{MRP: session.MRPParams{Idle: 700 * time.Millisecond, Active: 400 * time.Millisecond}}

		s, err := Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{Rand: seeded(1), SessionParams: &ourMRP})
		require.NoError(t, err)
		dev := <-results
		require.NoError(t, dev.err)

		assert.Equal(t, s.PeerSessionID(), dev.s.LocalSessionID())
		assert.Equal(t, s.LocalSessionID(), dev.s.PeerSessionID())
		assert.Equal(t, session.Initiator, s.Role())
		assert.Equal(t, deviceMRP.MRP, s.PeerMRP(), "the device's advertised MRP parameters apply to our session")
		assert.Equal(t, session.MRPParams{Idle: 700 * time.Millisecond, Active: 400 * time.Millisecond, ActiveThreshold: session.DefaultActiveThreshold},
			dev.s.PeerMRP(), "ours apply to the device's session")
		useSession(t, t.Context(), p.commissioner, s)
	})
}

// A wrong passcode fails at Pake2 with ErrConfirmation (and mcrypto's), says "wrong passcode?",
// and tells the device, whose handshake ends with our StatusReport instead of waiting for Pake3.
func TestInitiateWithAWrongPasscodeFailsClearlyAndFreesTheDevice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := memPair(t)
		results := serveDevice(t, p, ResponderConfig{})
		start := time.Now()
		_, err := Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode+1, Options{Rand: seeded(2)})
		require.Error(t, err)
		t.Log(err)
		assert.ErrorIs(t, err, ErrConfirmation)
		assert.ErrorIs(t, err, mcrypto.ErrConfirmation)
		assert.Contains(t, err.Error(), "wrong passcode?")
		assert.Contains(t, err.Error(), p.deviceAddr.String())
		assert.Less(t, time.Since(start), time.Second, "no waiting for a timeout")

		dev := <-results
		require.Error(t, dev.err)
		var se *StatusError
		require.ErrorAs(t, dev.err, &se, "the device learnt of the failure from our StatusReport")
		assert.Equal(t, securechannel.GeneralFailure, se.Report.General)
		assert.Equal(t, securechannel.CodeInvalidParameter, se.Report.ProtocolCode)
		assert.Equal(t, "Pake2", se.Step)

		// The device takes the right passcode right after.
		s, err := Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{Rand: seeded(3)})
		require.NoError(t, err)
		useSession(t, t.Context(), p.commissioner, s)
	})
}

// A device that does not answer gives a *TimeoutError that says what was awaited after which step,
// within the MRP budget or the handshake timeout, never a hang.
func TestInitiateTimesOutClearlyWhenTheDeviceStopsAnswering(t *testing.T) {
	cases := []struct {
		name     string
		play     func(ctx context.Context, x *mrp.Exchange, first message.Message) // nil: nobody listens
		timeout  time.Duration
		waiting  string
		step     string
		cause    error
		maxTotal time.Duration
	}{
		{
			name: "nobody at the address: the request is never acknowledged", waiting: "acknowledgement",
			step: "PBKDFParamRequest", cause: mrp.ErrAckTimeout, timeout: time.Minute, maxTotal: 10 * time.Second,
		},
		{
			name: "the request is acknowledged but never answered", waiting: "PBKDFParamResponse", step: "PBKDFParamRequest",
			play:    func(ctx context.Context, x *mrp.Exchange, first message.Message) { <-ctx.Done() },
			timeout: 7 * time.Second, cause: context.DeadlineExceeded, maxTotal: 7*time.Second + time.Millisecond,
		},
		{
			name: "the device goes silent after PBKDFParamResponse", waiting: "Pake2", step: "Pake1",
			play: func(ctx context.Context, x *mrp.Exchange, first message.Message) {
				if x.Send(ctx, message.ProtocolSecureChannel, securechannel.OpPBKDFParamResponse, echoResponse(t, first, nil)) == nil {
					<-ctx.Done()
				}
			},
			timeout: 9 * time.Second, cause: context.DeadlineExceeded, maxTotal: 9*time.Second + time.Millisecond,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := memPair(t)
				target := p.deviceAddr
				if c.play == nil {
					target = netip.MustParseAddrPort("[fd00::dead]:5540")
				} else {
					script(t, p.device, c.play)
				}
				start := time.Now()
				_, err := Initiate(t.Context(), p.commissioner, target, testPasscode, Options{Timeout: c.timeout, Rand: seeded(4)})
				elapsed := time.Since(start)
				require.Error(t, err)
				t.Log(err)
				var te *TimeoutError
				require.ErrorAs(t, err, &te)
				assert.ErrorIs(t, err, ErrTimeout)
				assert.ErrorIs(t, err, c.cause)
				assert.Equal(t, c.waiting, te.Waiting)
				assert.Equal(t, c.step, te.Step)
				assert.Contains(t, err.Error(), "no "+c.waiting+" from the device at "+target.String())
				assert.LessOrEqual(t, elapsed, c.maxTotal)
			})
		})
	}
}

// The caller's context bounds the handshake as well; its cancellation is reported as such.
func TestInitiateStopsWhenTheCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := memPair(t)
		script(t, p.device, func(ctx context.Context, x *mrp.Exchange, first message.Message) { <-ctx.Done() })
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(3*time.Second, cancel)
		_, err := Initiate(ctx, p.commissioner, p.deviceAddr, testPasscode, Options{})
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, ErrTimeout)
	})
}

// A device that answers garbage gets a clear error (and a StatusReport telling it so), never a panic.
func TestInitiateRejectsDevicesThatAnswerGarbage(t *testing.T) {
	type reply struct {
		op      uint8
		payload func(first message.Message) []byte
	}
	respond := func(tweak func(*PBKDFParamResponse)) reply {
		return reply{securechannel.OpPBKDFParamResponse, func(first message.Message) []byte { return echoResponse(t, first, tweak) }}
	}
	raw := func(op uint8, b []byte) reply { return reply{op, func(message.Message) []byte { return b }} }
	var offCurve [PointSize]byte
	offCurve[0] = 4
	offCurve[1] = 1
	badPoint, _ := Pake2{PB: offCurve}.Append(nil)
	cases := []struct {
		name     string
		replies  []reply
		sentinel error
		says     string
		toldUs   bool // the device must receive our failure StatusReport
	}{
		{"random bytes as PBKDFParamResponse", []reply{raw(securechannel.OpPBKDFParamResponse, []byte{0xde, 0xad, 0xbe, 0xef})}, ErrProtocol, "PBKDFParamResponse", true},
		{"a Pake2 instead of PBKDFParamResponse", []reply{raw(securechannel.OpPASEPake2, badPoint)}, ErrProtocol, "Pake2 arrived instead of PBKDFParamResponse", true},
		{"a response that does not echo our random", []reply{respond(func(r *PBKDFParamResponse) { r.InitiatorRandom[0] ^= 1 })}, ErrProtocol, "does not echo ours", true},
		{"a response without PBKDF parameters", []reply{respond(func(r *PBKDFParamResponse) { r.PBKDF = nil })}, ErrProtocol, "pbkdf_parameters absent", true},
		{"999 PBKDF iterations", []reply{respond(func(r *PBKDFParamResponse) { r.PBKDF.Iterations = 999 })}, ErrProtocol, "iterations 999 outside 1000..100000", true},
		{"100001 PBKDF iterations", []reply{respond(func(r *PBKDFParamResponse) { r.PBKDF.Iterations = 100001 })}, ErrProtocol, "iterations 100001", true},
		{"responder session id 0", []reply{respond(func(r *PBKDFParamResponse) { r.ResponderSessionID = 0 })}, ErrProtocol, "responderSessionId is 0", true},
		{"a Pake2 whose pB is not on the curve", []reply{respond(nil), raw(securechannel.OpPASEPake2, badPoint)}, ErrProtocol, "Pake2.pB", true},
		{"a truncated Pake2", []reply{respond(nil), raw(securechannel.OpPASEPake2, badPoint[:40])}, ErrProtocol, "Pake2", true},
		{"an IM message instead of Pake2", []reply{respond(nil), {op: 0xFF}}, ErrProtocol, "IM", true},
		{"a StatusReport too short to decode", []reply{raw(securechannel.OpStatusReport, []byte{1, 0})}, ErrProtocol, "undecodable StatusReport", true},
		{"a premature success StatusReport", []reply{raw(securechannel.OpStatusReport, statusReport(securechannel.GeneralSuccess, 0))}, ErrProtocol, "instead of PBKDFParamResponse", true},
		{"BUSY with a retry delay", []reply{raw(securechannel.OpStatusReport, statusReport(securechannel.GeneralBusy, securechannel.CodeBusy, 0xE8, 0x03))}, ErrRejected, "retry after 1s", false},
		{"INVALID_PARAMETER after Pake1", []reply{respond(nil), raw(securechannel.OpStatusReport, statusReport(securechannel.GeneralFailure, securechannel.CodeInvalidParameter))}, ErrRejected, "rejected Pake1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := memPair(t)
				told := make(chan securechannel.StatusReport, 1)
				script(t, p.device, func(ctx context.Context, x *mrp.Exchange, first message.Message) {
					m := first
					for _, r := range c.replies {
						proto, op := message.ProtocolSecureChannel, r.op
						var payload []byte
						if r.op == 0xFF {
							proto, op = message.ProtocolIM, message.OpIMInvokeRequest
						} else {
							payload = r.payload(m)
						}
						if x.Send(ctx, proto, op, payload) != nil {
							return
						}
						var err error
						if m, err = x.Receive(ctx); err != nil {
							return
						}
					}
					if m.Is(message.ProtocolSecureChannel, securechannel.OpStatusReport) {
						if sr, err := securechannel.DecodeStatusReport(m.Payload); err == nil {
							told <- sr
						}
					}
				})
				_, err := Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{Rand: seeded(5)})
				require.Error(t, err)
				t.Log(err)
				assert.ErrorIs(t, err, c.sentinel)
				assert.Contains(t, err.Error(), c.says)
				assert.Contains(t, err.Error(), p.deviceAddr.String())
				if c.sentinel == ErrRejected {
					var se *StatusError
					require.ErrorAs(t, err, &se)
					var sce *securechannel.StatusError
					assert.ErrorAs(t, err, &sce, "the report is reachable as a securechannel.StatusError")
				}
				synctest.Wait()
				if c.toldUs {
					select {
					case sr := <-told:
						assert.Equal(t, securechannel.CodeInvalidParameter, sr.ProtocolCode)
					default:
						t.Error("the device was not told of the failure")
					}
				}
			})
		})
	}
}

// Over a seeded lossy link (drops, duplicates, reordering) every handshake either completes with a
// working session or fails with a clear timeout; most complete.
func TestInitiateOverASeededLossyLinkCompletesOrTimesOutClearly(t *testing.T) {
	for _, drop := range []float64{0.2, 0.6} {
		completed, timedOut := lossyHandshakes(t, drop, 12)
		t.Logf("drop %.0f%%: %d handshakes completed, %d timed out", drop*100, completed, timedOut)
		if drop == 0.2 {
			assert.GreaterOrEqual(t, completed, 8, "most handshakes survive 20%% loss")
		}
	}
}

func lossyHandshakes(t *testing.T, drop float64, seeds uint64) (completed, timedOut int) {
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("drop %.0f%% seed %d", drop*100, seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, link, err := transport.LossyPipe(transport.LossConfig{Seed: seed, Drop: drop, Duplicate: 0.1, Reorder: 0.1})
				require.NoError(t, err)
				t.Cleanup(link.Close)
				p := newPair(t, a, b)
				results := serveDevice(t, p, ResponderConfig{Rand: seeded(seed + 100)})
				start := time.Now()
				s, err := Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{Rand: seeded(seed), Timeout: 20 * time.Second})
				if err != nil {
					assert.ErrorIs(t, err, ErrTimeout, "a lossy link may only cause timeouts: %v", err)
					t.Logf("seed %d: %v (link %+v)", seed, err, link.Stats())
					timedOut++
					return
				}
				completed++
				t.Logf("seed %d: established after %v; link %+v, commissioner %+v", seed, time.Since(start), link.Stats(), p.commissioner.Stats())
				dev := <-results
				require.NoError(t, dev.err, "the device established the session too")
				assert.Equal(t, s.LocalSessionID(), dev.s.PeerSessionID())
				if drop <= 0.2 {
					// The link stays lossy: the session must still carry traffic thanks to MRP.
					useSession(t, t.Context(), p.commissioner, s)
				}
				assert.Positive(t, link.Stats().Dropped+link.Stats().Duplicated+link.Stats().Reordered, "the link did impair traffic")
			})
		})
	}
	return completed, timedOut
}

// Initiate refuses to run without a node or with a context that is already done.
func TestInitiateChecksItsArguments(t *testing.T) {
	_, err := Initiate(t.Context(), nil, netip.MustParseAddrPort("[::1]:5540"), testPasscode, Options{})
	assert.ErrorIs(t, err, ErrLocal)
	p := memPair(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Initiate(ctx, p.commissioner, p.deviceAddr, testPasscode, Options{})
	assert.ErrorIs(t, err, context.Canceled)
	require.NoError(t, p.commissioner.Close())
	_, err = Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{})
	assert.ErrorIs(t, err, ErrLocal)
	assert.True(t, errors.Is(err, mrp.ErrNodeClosed))
}
