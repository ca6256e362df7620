package fuzz

import (
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

// bdxDouble is the reference provider with a broken BDX side.
type bdxDouble struct {
	*reference.Provider
	mode string
}

func (d *bdxDouble) OpenBDX(r ota.Requestor) bdx.Session {
	return &brokenSession{mode: d.mode, inner: d.Provider.OpenBDX(r)}
}

type brokenSession struct {
	mode  string
	inner bdx.Session
}

func (s *brokenSession) Handle(m bdx.Message) (*bdx.Message, bool) {
	switch s.mode {
	case "accept-anyone": // bug #2: any requestor may download
		if _, err := bdx.DecodeReceiveInit(m.Payload); err == nil && m.Opcode == uint8(bdx.OpReceiveInit) {
			reply, _ := bdx.Encode(bdx.ReceiveAccept{Control: bdx.ReceiverDrive, MaxBlockSize: 1024})
			return &reply, false
		}
	case "panic-short-init": // reads the designator length without checking the payload's size
		if m.Opcode == uint8(bdx.OpReceiveInit) {
			_ = m.Payload[5]
		}
	case "garbage-reply":
		return &bdx.Message{Protocol: bdx.ProtocolID, Opcode: uint8(bdx.OpBlock), Payload: []byte{1, 2}}, true
	}
	return s.inner.Handle(m)
}

func (s *brokenSession) Close() { s.inner.Close() }

func bdxDoubleTarget(t testing.TB, mode string) harness.Target {
	p, err := newReference()
	require.NoError(t, err)
	return harness.InProcess("bdx double "+mode, &bdxDouble{Provider: p, mode: mode}, []uint8{1, 2}, nil)
}

func TestBDXProbesFindBrokenBDXSides(t *testing.T) {
	cases := []struct {
		mode string
		sig  string
	}{
		{"accept-anyone", "status|BDX|refusal||ReceiveAccept"},
		{"panic-short-init", "target-error|BDX|panic"},
		{"garbage-reply", "malformed-answer|BDX|message|"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			sum, err := Run(t.Context(), Config{Target: bdxDoubleTarget(t, c.mode), Seed: 1, Iterations: budgetIterations})
			require.NoError(t, err)
			require.Equal(t, []string{c.sig}, signatures(sum))
			f := sum.Findings[0]
			require.Len(t, f.Steps, 1)
			require.NotEmpty(t, f.Steps[0].BDX)
			require.LessOrEqual(t, len(f.Steps[0].BDX), len(f.Original[0].BDX))
			require.NotEmpty(t, f.Exchanges)
			if c.mode == "panic-short-init" {
				// The shortest ReceiveInit payload that still panics: six octets or fewer.
				last := f.Steps[0].BDX[len(f.Steps[0].BDX)-1]
				require.LessOrEqual(t, len(last.Payload), 5, "%X", last.Payload)
			}
			dir := t.TempDir()
			require.NoError(t, f.write(dir))
			got, reproduced, err := Replay(t.Context(), bdxDoubleTarget(t, c.mode), f.File)
			require.NoError(t, err)
			require.True(t, reproduced, got.Observed)
			_, reproduced, err = Replay(t.Context(), referenceTarget(t), f.File)
			require.NoError(t, err)
			require.False(t, reproduced)
		})
	}
}

func TestTheReferenceRefusesEveryBDXProbeWithAStatusReport(t *testing.T) {
	r, err := newRunner(t.Context(), Config{Target: referenceTarget(t), Iterations: 1})
	require.NoError(t, err)
	defer r.target.release()
	probes := 0
	for i := 0; i < 400; i++ {
		steps := genBDX(iterCtx(9, i))
		probs, recs, stuck := r.probeBDX(t.Context(), harness.FreshRequestors(i)[0], steps[0], true, true)
		require.NoError(t, stuck)
		require.Empty(t, probs, "%s", steps[0].Note)
		require.Len(t, recs, len(steps[0].BDX))
		for _, rec := range recs {
			if rec.Response != "" {
				require.Contains(t, rec.Response, "StatusReport", steps[0].Note)
				probes++
			}
		}
	}
	require.Greater(t, probes, 300, "most probes are answered")
}

func TestJudgeBDXAcceptsAStatusReportOrNothing(t *testing.T) {
	sr := bdx.Message{Protocol: securechannel.ProtocolID, Opcode: securechannel.OpStatusReport,
		Payload: securechannel.StatusReport{General: 1, ProtocolID: 2, ProtocolCode: 0x51}.Encode()}
	short := bdx.Message{Protocol: securechannel.ProtocolID, Opcode: securechannel.OpStatusReport, Payload: []byte{1, 2}}
	accept, _ := bdx.Encode(bdx.ReceiveAccept{Control: bdx.ReceiverDrive, MaxBlockSize: 512})
	query, _ := bdx.Encode(bdx.BlockQuery{Counter: 0})
	require.Empty(t, judgeBDX("m", nil, true))
	require.Empty(t, judgeBDX("m", &sr, true))
	require.Equal(t, "malformed-answer|BDX|status-report|", judgeBDX("m", &short, true)[0].sig)
	require.Equal(t, "malformed-answer|BDX|unexpected|", judgeBDX("m", &query, false)[0].sig)
	require.Equal(t, "status|BDX|refusal||ReceiveAccept", judgeBDX("m", &accept, true)[0].sig)
	require.Empty(t, judgeBDX("m", &accept, false), "an armed requestor may be accepted")
}
