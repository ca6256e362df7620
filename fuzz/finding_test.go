package fuzz

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

func sampleFinding() Finding {
	return Finding{Version: FileVersion, N: 3, Seed: 42, Iteration: 17, Target: "t", Oracle: OracleStatus, Level: "MUST",
		Signature: "status|QueryImage|CONSTRAINT_ERROR|QueryImage.Location|QueryImageResponse", Message: "m", Timeout: 2 * time.Second,
		Requestors: wireRequestors(harness.FreshRequestors(17)),
		Steps: []Step{
			{Requestor: 0, Command: ota.CmdQueryImage, Fields: []byte{0x15, 0x18}, TokenFrom: -1, Note: "q"},
			{Requestor: 2, Command: ota.CmdApplyUpdateRequest, Fields: []byte{0x15, 0x30, 0x00, 0x00, 0x18}, TokenFrom: 0, Note: "a"},
			{Requestor: 1, Fields: []byte{}, TokenFrom: -1, Note: "b", BDX: []BDXMessage{{Opcode: 4, Payload: []byte{0x20, 0}}, {Opcode: 0x10, Payload: []byte{}}}},
		},
		Original:     []Step{{Command: ota.CmdQueryImage, Fields: []byte{0x15, 0x18}, TokenFrom: -1}},
		Probe:        &Step{Command: ota.CmdQueryImage, Fields: []byte{0x15, 0x18}, TokenFrom: -1},
		Reproducible: true}
}

func TestAFindingFileRoundTrips(t *testing.T) {
	f := sampleFinding()
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, f.write(dir))
	require.Equal(t, filepath.Join(dir, "finding-3-status.json"), f.File)
	got, err := ReadFinding(f.File)
	require.NoError(t, err)
	require.Equal(t, f, got)

	raw, err := os.ReadFile(f.File)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"fields": "1518"`, "fields are hex")
	require.Contains(t, string(raw), `"command_name": "QueryImage"`)
	require.Contains(t, string(raw), `"opcode_name": "ReceiveInit"`)
	reqs, err := parseRequestors(got.Requestors)
	require.NoError(t, err)
	require.Equal(t, harness.FreshRequestors(17), reqs)
}

func TestABrokenFindingFileSaysWhatIsWrong(t *testing.T) {
	mod := func(change func(f *Finding)) []byte {
		f := sampleFinding()
		change(&f)
		b, err := json.Marshal(f)
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"not JSON", []byte("{"), "finding file"},
		{"another version", mod(func(f *Finding) { f.Version = 2 }), "version 2, want 1"},
		{"an unknown oracle", mod(func(f *Finding) { f.Oracle = "vibes" }), `unknown oracle "vibes"`},
		{"no signature", mod(func(f *Finding) { f.Signature = "" }), "no signature"},
		{"a token from a later step", mod(func(f *Finding) { f.Steps[0].TokenFrom = 1 }), "step 0: token_from 1"},
		{"a role out of range", mod(func(f *Finding) { f.Steps[1].Requestor = 3 }), "step 1: requestor role 3"},
		{"two requestors", mod(func(f *Finding) { f.Requestors = f.Requestors[:2] }), "2 requestors, want 3"},
		{"a bad node id", mod(func(f *Finding) { f.Requestors[1].NodeID = "xyz" }), `requestors[1]: node_id "xyz"`},
		{"a probe with a token", mod(func(f *Finding) { f.Steps[2].TokenFrom = 0 }), "a BDX probe takes no token"},
		{"a probe payload that is not hex", []byte(`{"version":1,"oracle":"status","signature":"s","steps":[{"fields":"","bdx":[{"opcode":4,"payload":"q"}]}]}`), "bdx message 0 payload"},
		{"fields that are not hex", []byte(`{"version":1,"oracle":"status","signature":"s","steps":[{"fields":"zz"}]}`), "step fields"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeFinding(c.b)
			require.ErrorContains(t, err, c.want)
		})
	}
}
