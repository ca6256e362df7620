package matterjs

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/client"
	"github.com/otaconf/otaconf/matter/securechannel/pase"
	"github.com/otaconf/otaconf/tlv"
)

// General Commissioning (Core §11.10) as the interop test uses it.
const (
	clusterGeneralCommissioning = 0x0030
	cmdArmFailSafe              = 0x00
	cmdArmFailSafeResponse      = 0x01
)

// matter.js's PASE server (packages/protocol/src/session/pase/PaseServer.ts, 0.17.9) bounds what a
// test may do to one peer: it ignores a PBKDFParamRequest while a PASE session exists or a pairing is
// in progress (so each handshake must end with CloseSession before the next), gives a pairing 60 s,
// and after 20 failed pairings (PASE_COMMISSIONING_MAX_ERRORS, never reset) it closes the
// commissioning window for good. Successful handshakes are not limited. These tests fail at most one
// pairing per peer.

// syncBuffer collects the peer's log output; Start writes it from one goroutine, a failing test
// reads it from another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// envPeerLog, when set to a matter.js log level (debug, info, ...), makes the PASE tests run the peer
// at that level and print its log at the end, failed or not.
const envPeerLog = "OTACONF_PASE_PEER_LOG"

// startPASEPeer starts a provider peer for the PASE tests and registers a cleanup that stops it
// (and shows its log if the test failed).
func startPASEPeer(t testing.TB) (*Peer, *syncBuffer) {
	t.Helper()
	Require(t)
	logs := &syncBuffer{}
	level := os.Getenv(envPeerLog)
	p, err := Start(t.Context(), Options{Stderr: logs, LogLevel: level})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() || level != "" {
			t.Logf("matter.js peer log:\n%s", logs.String())
		}
	})
	return p, logs
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func armFailSafeFields(expiry uint16, breadcrumb uint64) []byte {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(0), uint64(expiry))
	w.Uint(tlv.Context(1), breadcrumb)
	w.End()
	b, err := w.Finish()
	if err != nil {
		panic(err) // a fixed, valid structure
	}
	return b
}

// armFailSafeErrorCode reads ArmFailSafeResponse's ErrorCode (field 0, CommissioningErrorEnum).
func armFailSafeErrorCode(t testing.TB, fields []byte) uint64 {
	t.Helper()
	r := tlv.NewReader(fields)
	require.NoError(t, r.Next())
	require.NoError(t, r.EnterContainer())
	for {
		err := r.Next()
		require.NotEqual(t, io.EOF, err, "ArmFailSafeResponse %x has no ErrorCode (tag 0)", fields)
		require.NoError(t, err)
		if r.Tag() == tlv.Context(0) {
			v, err := r.Uint()
			require.NoError(t, err)
			return v
		}
	}
}

// Our PASE initiator and invoke client against matter.js's device: a wrong passcode fails clearly
// and leaves the device ready for the next attempt; then, over IPv4 and IPv6 loopback, PASE with the
// right passcode, ArmFailSafe(60 s, breadcrumb 1) → ErrorCode 0, ArmFailSafe(0) to disarm, and a
// clean close; finally the peer stops cleanly.
func TestPASEAndInvokeAgainstMatterJS(t *testing.T) {
	p, _ := startPASEPeer(t)
	require.Equal(t, uint32(DefaultPasscode), p.Passcode)

	t.Run("a wrong passcode fails with a clear error and does not hang", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		start := time.Now()
		_, err := client.Dial(ctx, p.IPv6, p.Passcode+1, client.Options{})
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.ErrorIs(t, err, pase.ErrConfirmation)
		assert.Contains(t, err.Error(), "wrong passcode?")
		assert.Less(t, elapsed, 10*time.Second, "a wrong passcode is detected at Pake2, not by a timeout")
		t.Logf("wrong passcode: %v (after %v)", err, elapsed.Round(time.Millisecond))
	})

	for _, addr := range []netip.AddrPort{p.IPv4, p.IPv6} {
		t.Run("PASE, arm and disarm the fail-safe, close over "+addr.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()

			cpu0, start := cpuTime(t), time.Now()
			c, err := client.Dial(ctx, addr, p.Passcode, client.Options{})
			wall, cpu := time.Since(start), cpuTime(t)-cpu0
			require.NoError(t, err)
			closed := false
			defer func() {
				if !closed {
					_ = c.Close()
				}
			}()
			t.Logf("PASE handshake with matter.js at %s: wall %v, our CPU %v (the whole test process, user+system)",
				addr, wall.Round(100*time.Microsecond), cpu.Round(100*time.Microsecond))

			for _, step := range []struct {
				name   string
				expiry uint16
			}{{"arm (60 s)", 60}, {"disarm (0 s)", 0}} {
				start := time.Now()
				res, err := c.Invoke(ctx, 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(step.expiry, 1), false)
				rtt := time.Since(start)
				require.NoError(t, err, step.name)
				require.NoError(t, res.Err(), step.name)
				require.True(t, res.HasCommand, "%s: matter.js answers ArmFailSafe with ArmFailSafeResponse, got status %v", step.name, res.Status)
				assert.EqualValues(t, cmdArmFailSafeResponse, res.Command, step.name)
				assert.Zero(t, armFailSafeErrorCode(t, res.Fields), "%s: ErrorCode must be OK", step.name)
				t.Logf("ArmFailSafe %s round trip: %v", step.name, rtt.Round(100*time.Microsecond))
			}
			// matter.js ends the PASE session itself when the fail-safe is disarmed (its log: "Failsafe
			// timer expired; resetting fabric builder", "Session ended"), so it drops the CloseSession
			// that Close sends as addressed to an unknown session. That is harmless: Close does not wait
			// for an answer.
			closed = true
			require.NoError(t, c.Close())
		})
	}

	t.Run("the peer stops cleanly", func(t *testing.T) {
		require.NoError(t, p.Stop())
	})
}

// The setup codes the peer prints (manual and QR) work as well as its passcode; without an invoke in
// between, our CloseSession is what ends each session, and matter.js takes the next PASE at once.
func TestPASEWithTheSetupCodesMatterJSPrints(t *testing.T) {
	p, _ := startPASEPeer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c, err := client.DialCode(ctx, p.IPv4, p.ManualPairingCode, client.Options{})
	require.NoError(t, err, "manual code %s", p.ManualPairingCode)
	require.NoError(t, c.Close())
	c, err = client.DialCode(ctx, p.IPv6, p.QRPairingCode, client.Options{})
	require.NoError(t, err, "QR code %s (after CloseSession the device takes a new PASE at once)", p.QRPairingCode)
	require.NoError(t, c.Close())
	require.NoError(t, p.Stop())
}

// BenchmarkPASEAgainstMatterJS runs whole PASE handshakes against one matter.js peer, each closed with
// CloseSession before the next (matter.js takes no new PASE while one exists), and reports the wall
// time of the handshake (median and maximum; ns/op also counts Close) and this process's CPU time per
// handshake. Run with a small -benchtime, e.g. 20x.
func BenchmarkPASEAgainstMatterJS(b *testing.B) {
	p, _ := startPASEPeer(b)
	b.ReportAllocs()
	var cpu time.Duration
	var walls []time.Duration
	for b.Loop() {
		cpu0, start := cpuTime(b), time.Now()
		c, err := client.Dial(b.Context(), p.IPv6, p.Passcode, client.Options{})
		walls = append(walls, time.Since(start))
		cpu += cpuTime(b) - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(walls)
	b.ReportMetric(float64(walls[len(walls)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(walls[len(walls)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkInvokeAgainstMatterJS is the round trip of ArmFailSafe(60 s) on one PASE session.
func BenchmarkInvokeAgainstMatterJS(b *testing.B) {
	p, _ := startPASEPeer(b)
	c, err := client.Dial(b.Context(), p.IPv6, p.Passcode, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	fields := armFailSafeFields(60, 1)
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Invoke(b.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, fields, false)
		if err != nil || !res.HasCommand {
			b.Fatal(res, err)
		}
	}
	if _, err := c.Invoke(b.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(0, 1), false); err != nil {
		b.Fatal(err)
	}
}
