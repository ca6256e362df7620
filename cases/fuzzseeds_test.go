package cases

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/adapter"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

// TestWriteFuzzSeeds rewrites the seed corpora of the reference and adapter fuzz targets from what the
// conformance cases send: it runs every case against a recording reference provider and writes
//
//	reference/testdata/fuzz/FuzzReferenceRaw/case-*         every distinct invoke (command, scenario, fabric, fields)
//	reference/testdata/fuzz/FuzzReferenceRaw/tlv-spec-*     the Core spec's TLV examples (tlv/testdata) as fields
//	reference/testdata/fuzz/FuzzReferenceStructured/case-*  distinct request fields, as gofuzz input bytes
//	reference/testdata/fuzz/FuzzReferenceBDX/case-*         each case's queries and BDX exchanges as a script
//	harness/adapter/testdata/fuzz/FuzzServe/case-*          each case as an adapter transcript
//	harness/adapter/testdata/fuzz/FuzzRequestJSON/case-*    distinct adapter request lines
//
// Run it after changing the cases: OTACONF_WRITE_FUZZ_SEEDS=1 go test ./cases -run TestWriteFuzzSeeds
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("OTACONF_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set OTACONF_WRITE_FUZZ_SEEDS=1 to rewrite the fuzz seed corpora from the cases")
	}
	ctx := context.Background()
	cat, file, err := reference.DefaultCatalog(ctx)
	require.NoError(t, err)
	p, err := reference.New(reference.Config{Catalog: cat, NodeIDs: map[uint8]uint64{2: 0x00000000000B0D02}, HTTPSBaseURL: "https://ota.example.invalid/images/"})
	require.NoError(t, err)
	rec := &recorder{p: p, scen: scenario.Default}
	opts := harness.Options{Strict: true, Profile: harness.DefaultProfile, OnResult: func(r harness.Result) { rec.flush(r.ID) }}
	opts.Profile.Image = file
	rep, err := harness.Run(ctx, harness.InProcess("recording reference", rec, []uint8{1, 2}, ReferencePICS), All(), opts)
	require.NoError(t, err)
	require.True(t, rep.OK(), "the reference must pass every case while recording")

	out := seedSet{}
	for _, c := range rec.cases {
		out.fromCase(c)
	}
	tlvSeeds(t, out)
	for dir, files := range out {
		clearGenerated(t, dir)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, content := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), content, 0o644))
		}
		t.Logf("%s: %d files", dir, len(files))
	}
}

const (
	rawDir        = "../reference/testdata/fuzz/FuzzReferenceRaw"
	structuredDir = "../reference/testdata/fuzz/FuzzReferenceStructured"
	bdxDir        = "../reference/testdata/fuzz/FuzzReferenceBDX"
	serveDir      = "../harness/adapter/testdata/fuzz/FuzzServe"
	jsonDir       = "../harness/adapter/testdata/fuzz/FuzzRequestJSON"
	// A whole 1 MiB download is 1025 queries; seeds keep the first steps of each case, so that the
	// corpora stay small and each execution fast.
	maxSeedSteps = 150 // BDX script steps
	maxSeedLines = 60  // adapter transcript lines
)

// clearGenerated removes the files an earlier run wrote (fuzzer-found files are kept).
func clearGenerated(t *testing.T, dir string) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return
	}
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "case-") || strings.HasPrefix(e.Name(), "tlv-spec-") {
			require.NoError(t, os.Remove(filepath.Join(dir, e.Name())))
		}
	}
}

// corpusFile writes values in the `go test fuzz v1` format, as the Go tool does.
func corpusFile(vals ...any) []byte {
	b := bytes.NewBufferString("go test fuzz v1\n")
	for _, v := range vals {
		switch x := v.(type) {
		case byte:
			fmt.Fprintf(b, "byte(%q)\n", x)
		case []byte:
			fmt.Fprintf(b, "[]byte(%q)\n", x)
		default:
			panic(fmt.Sprintf("corpusFile: unsupported %T", v))
		}
	}
	return b.Bytes()
}

// ---- recording ----

type event struct {
	kind    string // invoke, open, send, close, scenario
	r       ota.Requestor
	ep      uint16
	cluster uint32
	cmd     ota.CommandID
	fields  []byte
	resp    ota.Response
	scen    scenario.Request
	scenIdx int // scenario in force (index in scenario.All)
	session int
	msg     bdx.Message
}

type recordedCase struct {
	id     string
	events []event
}

// recorder is the reference provider with every call written down.
type recorder struct {
	p *reference.Provider

	mu       sync.Mutex
	scen     scenario.Name
	events   []event
	sessions int
	cases    []recordedCase
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range scenario.All {
		if s.Name == r.scen {
			e.scenIdx = i
		}
	}
	r.events = append(r.events, e)
}

func (r *recorder) flush(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cases = append(r.cases, recordedCase{id: id, events: r.events})
	r.events, r.sessions = nil, 0
}

func (r *recorder) NodeID(f uint8) uint64 { return r.p.NodeID(f) }
func (r *recorder) Endpoint() uint16      { return r.p.Endpoint() }

func (r *recorder) Invoke(ctx context.Context, q ota.Requestor, ep uint16, cl uint32, cmd ota.CommandID, fields []byte) ota.Response {
	resp := r.p.Invoke(ctx, q, ep, cl, cmd, fields)
	r.add(event{kind: "invoke", r: q, ep: ep, cluster: cl, cmd: cmd, fields: bytes.Clone(fields), resp: resp})
	return resp
}

func (r *recorder) SetScenario(s scenario.Request) error {
	err := r.p.SetScenario(s)
	if err == nil {
		r.mu.Lock()
		r.scen = s.Name
		r.mu.Unlock()
	}
	r.add(event{kind: "scenario", scen: s})
	return err
}

func (r *recorder) OpenBDX(q ota.Requestor) bdx.Session {
	r.mu.Lock()
	id := r.sessions
	r.sessions++
	r.mu.Unlock()
	r.add(event{kind: "open", r: q, session: id})
	return &recSession{rec: r, id: id, s: r.p.OpenBDX(q)}
}

type recSession struct {
	rec *recorder
	id  int
	s   bdx.Session
}

func (s *recSession) Handle(m bdx.Message) (*bdx.Message, bool) {
	s.rec.add(event{kind: "send", session: s.id, msg: bdx.Message{Protocol: m.Protocol, Opcode: m.Opcode, Payload: bytes.Clone(m.Payload)}})
	return s.s.Handle(m)
}

func (s *recSession) Close() {
	s.rec.add(event{kind: "close", session: s.id})
	s.s.Close()
}

// ---- seeds ----

type seedSet map[string]map[string][]byte // dir → file name → content

func (s seedSet) add(dir, name string, content []byte) {
	if s[dir] == nil {
		s[dir] = map[string][]byte{}
	}
	for _, c := range s[dir] {
		if bytes.Equal(c, content) {
			return // one file per distinct input
		}
	}
	s[dir][name] = content
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9.]+`)

func seedName(id string, n int) string {
	return fmt.Sprintf("case-%s-%d", strings.Trim(unsafeName.ReplaceAllString(id, "-"), "-"), n)
}

// role maps a case requestor (harness.FreshRequestors) to the fuzz targets' roles: 0 the main
// requestor, 1 another node on its fabric, 2 the main node on fabric 2.
func role(r ota.Requestor) int {
	switch {
	case r.FabricIndex == 2:
		return 2
	case r.NodeID&0xF == 2:
		return 1
	}
	return 0
}

// scriptKinds must list the messages in the order of rawKinds in reference/fuzz_test.go.
var scriptKinds = [...]struct {
	protocol uint16
	opcode   uint8
}{
	{bdx.ProtocolID, uint8(bdx.OpBlockQuery)}, {bdx.ProtocolID, uint8(bdx.OpBlockQueryWithSkip)},
	{bdx.ProtocolID, uint8(bdx.OpBlockAck)}, {bdx.ProtocolID, uint8(bdx.OpBlockAckEOF)},
	{bdx.ProtocolID, uint8(bdx.OpBlock)}, {bdx.ProtocolID, uint8(bdx.OpBlockEOF)},
	{bdx.ProtocolID, uint8(bdx.OpReceiveInit)}, {bdx.ProtocolID, uint8(bdx.OpSendInit)},
	{bdx.ProtocolID, uint8(bdx.OpReceiveAccept)}, {bdx.ProtocolID, uint8(bdx.OpSendAccept)},
	{bdx.ProtocolID, 0x03},
	{securechannel.ProtocolID, securechannel.OpStatusReport},
	{0x0001, 0x08},
}

func offered(resp ota.Response) bool {
	if !resp.HasCommand || resp.Command != ota.CmdQueryImageResponse {
		return false
	}
	qr, _ := ota.DecodeQueryImageResponse(resp.Fields)
	return qr.Status == ota.StatusUpdateAvailable && qr.ImageURI != nil && strings.HasPrefix(*qr.ImageURI, "bdx:")
}

func (s seedSet) fromCase(c recordedCase) {
	var script []byte
	hasBDX, cur, steps := false, -1, 0
	var lines [][]byte
	id := uint64(0)
	line := func(r adapter.Request) {
		if len(lines) >= maxSeedLines {
			return
		}
		if r.Op != "hello" {
			id++
			r.ID = id
		}
		b, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		lines = append(lines, b)
	}
	u16, u32, u8 := func(v uint16) *uint16 { return &v }, func(v uint32) *uint32 { return &v }, func(v uint8) *uint8 { return &v }
	str := func(v string) *string { return &v }
	line(adapter.Request{Op: "hello", Version: adapter.Version})
	n := 0
	for _, e := range c.events {
		switch e.kind {
		case "invoke":
			line(adapter.Request{Op: "invoke", Endpoint: u16(e.ep), Cluster: u32(e.cluster), Command: u32(uint32(e.cmd)),
				Fields: str(hex.EncodeToString(e.fields)), Requestor: adapter.WireRequestor(e.r)})
			if e.ep != 0 || e.cluster != ota.ProviderClusterID {
				continue
			}
			cmd := byte(e.cmd&7) | byte(e.scenIdx&7)<<3
			if e.r.FabricIndex == 2 {
				cmd |= 0x40
			}
			s.add(rawDir, seedName(c.id, n), corpusFile(cmd, e.fields))
			if e.cmd.Accepted() {
				s.add(structuredDir, seedName(c.id, n), corpusFile(e.fields))
			}
			n++
			if e.cmd == ota.CmdQueryImage && steps < maxSeedSteps {
				a := byte(role(e.r))
				if !offered(e.resp) {
					a |= 0x80
				}
				script = append(script, 0, a)
				steps++
			}
		case "scenario":
			line(adapter.Request{Op: "scenario", Name: string(e.scen.Name), Delay: e.scen.Delay})
		case "open":
			line(adapter.Request{Op: "bdx_open", Requestor: adapter.WireRequestor(e.r)})
			hasBDX = true
			script = append(script, 1, byte(role(e.r)))
			cur = e.session
		case "send":
			line(adapter.Request{Op: "bdx_send", Exchange: uint64(e.session + 1), Protocol: u16(e.msg.Protocol), Opcode: u8(e.msg.Opcode),
				Payload: str(hex.EncodeToString(e.msg.Payload))})
			k := -1
			for i, x := range scriptKinds {
				if x.protocol == e.msg.Protocol && x.opcode == e.msg.Opcode {
					k = i
				}
			}
			if k < 0 || len(e.msg.Payload) > 255 || steps >= maxSeedSteps {
				continue
			}
			if e.session != cur {
				script = append(script, 3, byte(e.session))
				cur = e.session
			}
			script = append(script, 6, byte(k), byte(len(e.msg.Payload)))
			script = append(script, e.msg.Payload...)
			steps++
		case "close":
			line(adapter.Request{Op: "bdx_close", Exchange: uint64(e.session + 1)})
			if e.session != cur {
				script = append(script, 3, byte(e.session))
				cur = e.session
			}
			script = append(script, 2)
		}
	}
	if hasBDX {
		s.add(bdxDir, seedName(c.id, 0), corpusFile(script))
	}
	s.add(serveDir, seedName(c.id, 0), corpusFile(append(bytes.Join(lines, []byte("\n")), '\n')))
	for i, l := range lines {
		if i < 4 { // the opening of each case: hello, queries, scenario, bdx_open
			s.add(jsonDir, seedName(c.id, i), corpusFile(l))
		}
	}
}

// tlvSeeds adds the Core spec's TLV examples as request fields, cycling through the three requests.
func tlvSeeds(t *testing.T, s seedSet) {
	raw, err := os.ReadFile("../tlv/testdata/tlv_spec_examples.json")
	require.NoError(t, err)
	var doc struct {
		Examples []struct {
			Hex string `json:"hex"`
		} `json:"examples"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc.Examples)
	cmds := [...]ota.CommandID{ota.CmdQueryImage, ota.CmdApplyUpdateRequest, ota.CmdNotifyUpdateApplied}
	for i, ex := range doc.Examples {
		b, err := hex.DecodeString(ex.Hex)
		require.NoError(t, err)
		s.add(rawDir, fmt.Sprintf("tlv-spec-%02d", i), corpusFile(byte(cmds[i%len(cmds)]), b))
	}
}
