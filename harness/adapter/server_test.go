package adapter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

// The FuzzServe seed session, answered line by line: this pins down what the fuzz checks rely on.
func TestServeAnswersEveryLineOfASessionInOrder(t *testing.T) {
	in := serveSeeds(t)[0]
	out, err := serveLines(t, newTestProvider(t), in)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	reqs := bytes.Split(bytes.TrimSuffix(in, []byte("\n")), []byte("\n"))
	require.Len(t, lines, len(reqs), "one reply per request")
	reps := make([]Reply, len(lines))
	for i, l := range lines {
		require.NoError(t, json.Unmarshal(l, &reps[i]), "reply %d", i)
		checkReply(t, reqs[i], reps[i])
	}

	require.Equal(t, "hello", reps[0].Op)
	qr := func(rep Reply) ota.QueryImageResponse {
		t.Helper()
		require.NotNil(t, rep.Fields, "%+v", rep)
		b, err := hex.DecodeString(*rep.Fields)
		require.NoError(t, err)
		r, fs := ota.DecodeQueryImageResponse(b)
		require.Empty(t, fs)
		return r
	}
	require.Equal(t, ota.StatusUpdateAvailable, qr(reps[1]).Status)
	require.Equal(t, uint64(1), reps[2].Exchange)
	op := func(rep Reply) bdx.Opcode {
		t.Helper()
		require.Len(t, rep.Messages, 1, "%+v", rep)
		return bdx.Opcode(rep.Messages[0].Opcode)
	}
	require.Equal(t, bdx.OpReceiveAccept, op(reps[3]))
	for _, rep := range reps[4:7] {
		require.Equal(t, bdx.OpBlock, op(rep))
	}
	require.Equal(t, bdx.OpBlockEOF, op(reps[7]), "a 3000-octet payload plus header ends in the fourth block")
	require.Empty(t, reps[8].Error, "bdx_close")
	require.Empty(t, reps[9].Error, "scenario busy")
	busy := qr(reps[10])
	require.Equal(t, ota.StatusBusy, busy.Status)
	require.Equal(t, uint32(60), *busy.DelayedActionTime)
	require.Contains(t, reps[11].Error, "unknown scenario")
	require.Contains(t, reps[12].Error, "no open BDX exchange 7")
}

func TestExpectedLinesSplitsAsTheScannerDoes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r\nb", []string{"a", "b"}},
		{"\n\r\n\r", nil},
		{"a\r\r\nb\n\n", []string{"a\r", "b"}},
	} {
		got, ok := expectedLines([]byte(tc.in))
		require.True(t, ok)
		var s []string
		for _, l := range got {
			s = append(s, string(l))
		}
		require.Equal(t, tc.want, s, "%q", tc.in)
		out, err := serveLines(t, newTestProvider(t), []byte(tc.in))
		require.NoError(t, err)
		require.Equal(t, len(tc.want), bytes.Count(out, []byte("\n")), "Serve answers %q", tc.in)
	}
}
