package client

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/securechannel/pase"
	"github.com/otaconf/otaconf/matter/setup"
	"github.com/otaconf/otaconf/matter/transport"
)

// The flow of the interop test, against the in-process device: dial with the passcode, arm the
// fail-safe (ErrorCode 0), disarm it, close with CloseSession, which the device honours.
func TestDialInvokeAndCloseAgainstAnInProcessDevice(t *testing.T) {
	c, d, err := memDial(t, testPasscode, Options{})
	require.NoError(t, err)
	assert.Equal(t, d.addr, c.RemoteAddr())

	for _, expiry := range []uint16{60, 0} {
		res, err := c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(expiry, 1), false)
		require.NoError(t, err)
		require.NoError(t, res.Err())
		assert.True(t, res.HasCommand)
		assert.EqualValues(t, cmdArmFailSafeResponse, res.Command)
		assert.Zero(t, errorCodeOf(t, res.Fields))
	}
	_, _, _, reqs := d.snapshot()
	require.Len(t, reqs, 2)
	assert.Equal(t, armFailSafeFields(60, 1), reqs[0].Requests[0].Fields, "the fields reach the device byte for byte")
	assert.False(t, reqs[0].TimedRequest)

	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { _, closed, _, _ := d.snapshot(); return len(closed) == 1 }, 5*time.Second, 5*time.Millisecond,
		"the device saw our CloseSession")
	sessions, closed, _, _ := d.snapshot()
	assert.Same(t, sessions[0], closed[0], "the closed session is the one PASE established")
	assert.Equal(t, c.Session().PeerSessionID(), closed[0].LocalSessionID())
	assert.NoError(t, c.Close(), "closing twice is harmless")
}

// A status answer is a Result (not an error); Result.Err turns it into an *im.StatusError.
func TestInvokeReturnsTheDeviceStatusAsAResult(t *testing.T) {
	c, d, err := memDial(t, testPasscode, Options{})
	require.NoError(t, err)
	d.handlers[im.CommandPath{Endpoint: 0, Cluster: 0x0029, Command: 0x00}] = func([]byte) (uint32, []byte, im.Status) {
		return 0, nil, im.ConstraintError
	}
	cases := []struct {
		name    string
		cluster uint32
		command uint32
		fields  []byte
		want    im.Status
	}{
		{"an unknown command is UNSUPPORTED_COMMAND", clusterGeneralCommissioning, 0x7F, nil, im.UnsupportedCommand},
		{"fields the command rejects are INVALID_COMMAND", clusterGeneralCommissioning, cmdArmFailSafe, []byte{0x15, 0x18}, im.InvalidCommand},
		{"a handler's status comes back as is", 0x0029, 0x00, nil, im.ConstraintError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Invoke(t.Context(), 0, tc.cluster, tc.command, tc.fields, false)
			require.NoError(t, err)
			assert.False(t, res.HasCommand)
			assert.Equal(t, tc.want, res.Status)
			var se *im.StatusError
			require.ErrorAs(t, res.Err(), &se)
			assert.Equal(t, tc.want, se.Status)
		})
	}
}

// A timed invoke sends TimedRequest (with the configured timeout) first, then the InvokeRequest
// with TimedRequest=true, on one exchange.
func TestTimedInvokeSendsATimedRequestFirst(t *testing.T) {
	c, d, err := memDial(t, testPasscode, Options{TimedTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	res, err := c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(30, 7), true)
	require.NoError(t, err)
	require.NoError(t, res.Err())
	_, _, timed, reqs := d.snapshot()
	assert.Equal(t, []uint16{1500}, timed)
	require.Len(t, reqs, 1)
	assert.True(t, reqs[0].TimedRequest)
}

// A wrong passcode fails Dial with pase.ErrConfirmation and a message that says so; a setup code
// works like its passcode; an unreadable one is refused before any traffic.
func TestDialReportsWrongPasscodesAndReadsSetupCodes(t *testing.T) {
	_, _, err := memDial(t, testPasscode+7, Options{})
	require.ErrorIs(t, err, pase.ErrConfirmation)
	assert.Contains(t, err.Error(), "wrong passcode?")
	t.Log(err)

	p := setup.Payload{Form: setup.FormManualCode, Flow: setup.FlowStandard, Discriminator: setup.ShortDiscriminator(15), Passcode: testPasscode}
	manual, err := p.ManualCode()
	require.NoError(t, err)
	a, b := transport.Pipe()
	d := newDevice(t, b)
	c, err := DialCode(t.Context(), d.addr, manual, Options{Transport: a})
	require.NoError(t, err, "manual code %s", manual)
	require.NoError(t, c.Close())

	_, err = DialCode(t.Context(), d.addr, "MT:not-a-code", Options{Transport: a})
	var se *setup.Error
	assert.ErrorAs(t, err, &se)
}

// Dial refuses addresses it cannot use.
func TestDialRefusesUnusableArguments(t *testing.T) {
	_, err := Dial(t.Context(), netip.AddrPort{}, testPasscode, Options{})
	assert.ErrorContains(t, err, "not an IP address and port")
	_, err = Dial(t.Context(), netip.MustParseAddrPort("[::1]:0"), testPasscode, Options{})
	assert.ErrorContains(t, err, "not an IP address and port")
	_, err = Dial(t.Context(), netip.MustParseAddrPort("[::1]:5540"), testPasscode, Options{TimedTimeout: time.Minute + 6*time.Second})
	assert.ErrorContains(t, err, "16-bit millisecond field")
}

// Real UDP on both loopback families: the socket is of the device's family and bound to loopback.
func TestDialOverUDPOnBothLoopbackFamilies(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			local := netip.MustParseAddrPort("127.0.0.1:0")
			if network == "udp6" {
				local = netip.MustParseAddrPort("[::1]:0")
			}
			tr, err := transport.ListenUDP(network, local)
			if err != nil {
				t.Skipf("no %s loopback here: %v", network, err)
			}
			d := newDevice(t, tr)
			c, err := Dial(t.Context(), d.addr, testPasscode, Options{})
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, d.addr.Addr().Is4(), c.LocalAddr().Addr().Is4())
			assert.True(t, c.LocalAddr().Addr().IsLoopback(), "bound to loopback, not to every interface: %v", c.LocalAddr())
			res, err := c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(60, 1), false)
			require.NoError(t, err)
			assert.EqualValues(t, cmdArmFailSafeResponse, res.Command)
		})
	}
}

// Invokes may run concurrently on one Conn, each on its own exchange.
func TestConcurrentInvokesEachGetTheirOwnAnswer(t *testing.T) {
	c, d, err := memDial(t, testPasscode, Options{})
	require.NoError(t, err)
	for cmd := uint32(0x10); cmd < 0x18; cmd++ {
		d.handlers[im.CommandPath{Endpoint: 1, Cluster: 0x0029, Command: cmd}] = func([]byte) (uint32, []byte, im.Status) {
			return cmd + 0x80, nil, im.Success
		}
	}
	var wg sync.WaitGroup
	for cmd := uint32(0x10); cmd < 0x18; cmd++ {
		wg.Go(func() {
			res, err := c.Invoke(t.Context(), 1, 0x0029, cmd, nil, false)
			if assert.NoError(t, err) {
				assert.Equal(t, cmd+0x80, res.Command)
			}
		})
	}
	wg.Wait()
}

// A device that acknowledges but never answers costs InvokeTimeout, reported as ErrTimeout; the
// caller's own deadline works too.
func TestInvokeTimesOutWhenTheDeviceNeverAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, err := memDial(t, testPasscode, Options{InvokeTimeout: 4 * time.Second})
		require.NoError(t, err)
		start := time.Now()
		_, err = c.Invoke(t.Context(), 0, clusterSlow, 0, nil, false)
		require.ErrorIs(t, err, ErrTimeout)
		assert.Equal(t, 4*time.Second, time.Since(start))
		assert.Contains(t, err.Error(), "no answer to InvokeRequest")
		t.Log(err)

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err = c.Invoke(ctx, 0, clusterSlow, 0, nil, false)
		assert.ErrorIs(t, err, ErrTimeout)
	})
}

// A device that went away: the InvokeRequest is never acknowledged, and MRP gives up with ErrTimeout.
func TestInvokeTimesOutWhenTheDeviceIsGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, d, err := memDial(t, testPasscode, Options{})
		require.NoError(t, err)
		require.NoError(t, d.node.Close())
		_, err = c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(60, 1), false)
		require.ErrorIs(t, err, ErrTimeout)
		assert.ErrorIs(t, err, mrp.ErrAckTimeout)
		assert.Contains(t, err.Error(), "no acknowledgement of InvokeRequest")
	})
}

// Answers that are not a valid IM answer to the invoke are errors that say what came instead.
func TestInvokeRejectsAnswersThatAreNotAnswers(t *testing.T) {
	path := im.CommandPath{Endpoint: 0, Cluster: clusterGeneralCommissioning, Command: cmdArmFailSafe}
	other, _ := im.EncodeInvokeResponseCommand(im.CommandPath{Endpoint: 3, Cluster: 0x0006, Command: 1}, nil)
	cases := []struct {
		name  string
		proto message.ProtocolID
		op    uint8
		body  []byte
		is    error
	}{
		{"a StatusReport", message.ProtocolSecureChannel, securechannel.OpStatusReport,
			securechannel.StatusReport{General: securechannel.GeneralBusy, ProtocolCode: securechannel.CodeBusy}.Encode(), nil},
		{"a BDX message", message.ProtocolBDX, message.OpBDXBlock, []byte{0, 0, 0, 0}, ErrUnexpectedReply},
		{"a ReportData", message.ProtocolIM, message.OpIMReportData, []byte{0x15, 0x18}, im.ErrUnexpectedOpcode},
		{"garbage as InvokeResponse", message.ProtocolIM, im.OpInvokeResponse, []byte{0xFF, 0x00}, im.ErrMalformedTLV},
		{"a response for another path", message.ProtocolIM, im.OpInvokeResponse, other, im.ErrPathMismatch},
		{"an empty InvokeResponses", message.ProtocolIM, im.OpInvokeResponse, mustEncode(t, im.InvokeResponse{}), im.ErrNoResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, d, err := memDial(t, testPasscode, Options{})
			require.NoError(t, err)
			d.reply = func(ctx context.Context, x *mrp.Exchange, _ message.Message) {
				_ = x.Send(ctx, tc.proto, tc.op, tc.body)
			}
			_, err = c.Invoke(t.Context(), path.Endpoint, path.Cluster, path.Command, nil, false)
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			} else {
				var se *securechannel.StatusError
				assert.ErrorAs(t, err, &se)
			}
		})
	}
}

func mustEncode(t *testing.T, m im.InvokeResponse) []byte {
	b, err := m.Append(nil)
	require.NoError(t, err)
	return b
}

// After Close, Invoke fails at once with ErrClosed; an invoke in progress is cut short with it.
func TestInvokeAfterCloseFailsWithErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, err := memDial(t, testPasscode, Options{})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := c.Invoke(t.Context(), 0, clusterSlow, 0, nil, false)
			done <- err
		}()
		time.Sleep(time.Second)
		require.NoError(t, c.Close())
		err = <-done
		assert.ErrorIs(t, err, ErrClosed)
		_, err = c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, nil, false)
		assert.True(t, errors.Is(err, ErrClosed), "%v", err)
	})
}

// Fields that are not one anonymous TLV structure are refused before anything is sent.
func TestInvokeRefusesMalformedFieldsLocally(t *testing.T) {
	c, d, err := memDial(t, testPasscode, Options{})
	require.NoError(t, err)
	_, err = c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, []byte{0x15, 0x24}, false)
	require.ErrorIs(t, err, im.ErrBadFields)
	_, _, _, reqs := d.snapshot()
	assert.Empty(t, reqs, "nothing reached the device")
}

// A device that refuses the TimedRequest answers the timed invoke with that status; the
// InvokeRequest is then not sent.
func TestTimedInvokeRefusedByTheDeviceReturnsItsStatus(t *testing.T) {
	c, d, err := memDial(t, testPasscode, Options{})
	require.NoError(t, err)
	var got []uint8
	var mu sync.Mutex
	d.reply = func(ctx context.Context, x *mrp.Exchange, m message.Message) {
		mu.Lock()
		got = append(got, m.Protocol.Opcode)
		mu.Unlock()
		_ = x.Send(ctx, message.ProtocolIM, im.OpStatusResponse, im.EncodeStatusResponse(im.UnsupportedAccess))
	}
	res, err := c.Invoke(t.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, armFailSafeFields(1, 1), true)
	require.NoError(t, err)
	assert.Equal(t, im.UnsupportedAccess, res.Status)
	assert.Error(t, res.Err())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []uint8{im.OpTimedRequest}, got)
}
