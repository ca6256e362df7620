package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// FuzzDecodeFinding: any file contents decode without panicking; a file that decodes re-encodes to
// one that decodes to the same finding (decode → encode → decode is stable).
func FuzzDecodeFinding(f *testing.F) {
	good, _ := json.Marshal(sampleFinding())
	f.Add(good)
	f.Add([]byte(`{"version":1,"oracle":"liveness","signature":"s","requestors":[{},{},{}],"steps":[{"fields":"","token_from":-1}]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		first, err := DecodeFinding(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		again, err := json.Marshal(first)
		if err != nil {
			t.Fatalf("a decoded finding does not encode: %v", err)
		}
		second, err := DecodeFinding(again)
		if err != nil {
			t.Fatalf("re-encoded finding does not decode: %v\n%s", err, again)
		}
		third, _ := json.Marshal(second)
		if !bytes.Equal(again, third) {
			t.Fatalf("not stable:\n%s\n%s", again, third)
		}
		if err := validateSteps(second.Steps); err != nil {
			t.Fatalf("a decoded finding has steps a replay cannot run: %v", err)
		}
	})
}

// FuzzJudge: the oracles never panic on any request and answer; every problem names its oracle,
// level, section and a message; only response rules come several at a time, and only for a request
// that had to be processed.
func FuzzJudge(f *testing.F) {
	q := enc(f, profileQuery(harness.DefaultProfile))
	offer, _ := ota.Encode(ota.QueryImageResponse{Status: ota.StatusUpdateAvailable, UpdateToken: make([]byte, 7)})
	f.Add(uint8(0), q, uint8(0), true, uint8(1), offer, false, false)
	f.Add(uint8(0), q, uint8(0x87), false, uint8(0), []byte(nil), true, false)
	f.Add(uint8(2), []byte{0x15, 0x30, 0x00, 0x01, 0x00, 0x18}, uint8(0), true, uint8(3), []byte{0x15, 0x24, 0x00, 0x07, 0x18}, false, false)
	f.Add(uint8(4), []byte{0x15, 0x18}, uint8(0x42), false, uint8(0), []byte(nil), false, true)
	f.Fuzz(func(t *testing.T, cmd uint8, fields []byte, status uint8, hasCmd bool, respCmd uint8, respFields []byte, strict, failed bool) {
		a := answer{cmd: ota.CommandID(cmd % 6), fields: fields, provider: testProvider,
			resp: ota.Response{Status: im.Status(status), HasCommand: hasCmd, Command: ota.CommandID(respCmd % 6), Fields: respFields}}
		if failed {
			a.err, a.timedOut = errors.New("transport"), status%2 == 0
		}
		probs, _ := judge(a, strict, time.Second)
		rules := 0
		for _, p := range probs {
			if p.message == "" || p.section == "" || !strings.HasPrefix(p.sig, string(p.oracle)+"|") {
				t.Fatalf("incomplete problem %+v", p)
			}
			if p.level == ota.LevelInfo || (p.level == ota.LevelShould && !strict) {
				t.Fatalf("%s finding outside strict mode: %+v", p.level, p)
			}
			if p.oracle == OracleResponseRule {
				rules++
			}
		}
		if len(probs) > 1 && rules != len(probs) {
			t.Fatalf("several problems from one answer that are not all response rules: %+v", probs)
		}
		if rules > 0 && ota.ExpectedStatus(a.cmd, fields) != nil {
			t.Fatalf("response rules judged for a request that had to be refused")
		}
	})
}

// FuzzJudgeBDX: any reply to a probe is judged without panicking, and every problem is complete.
func FuzzJudgeBDX(f *testing.F) {
	accept, _ := bdx.Encode(bdx.ReceiveAccept{Control: bdx.ReceiverDrive, MaxBlockSize: 512})
	f.Add(accept.Protocol, accept.Opcode, accept.Payload, true)
	f.Add(uint16(0), uint8(0x40), []byte{1, 0, 2, 0, 0, 0, 0x51, 0}, false)
	f.Add(uint16(2), uint8(0x11), []byte{}, false)
	f.Fuzz(func(t *testing.T, proto uint16, op uint8, payload []byte, unarmed bool) {
		for _, p := range judgeBDX("probe", &bdx.Message{Protocol: proto, Opcode: op, Payload: payload}, unarmed) {
			if p.message == "" || p.section == "" || !strings.HasPrefix(p.sig, string(p.oracle)+"|BDX|") {
				t.Fatalf("incomplete problem %+v", p)
			}
		}
	})
}

// FuzzEncodeLoose: whatever decodes as TLV re-encodes to the same octets through the loose encoder
// the mutators use (decode → encode → decode is stable), so minimisation never changes an input by
// merely passing it through the element tree.
func FuzzEncodeLoose(f *testing.F) {
	f.Add(enc(f, profileQuery(harness.DefaultProfile)))
	f.Add([]byte{0x15, 0x26, 0x00, 0x01, 0x00, 0x00, 0x00, 0x18})       // a non-minimal width
	f.Add([]byte{0x15, 0x50, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x18}) // an implicit-profile tag
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := tlv.Decode(b)
		if err != nil {
			return
		}
		again, err := encodeLoose(&e)
		if err != nil {
			t.Fatalf("a decoded tree does not encode: %v", err)
		}
		if !bytes.Equal(b, again) {
			t.Fatalf("round trip changed the octets:\n%X\n%X", b, again)
		}
	})
}

// FuzzGenerate: every seed and iteration gives an input a replay can run, the same one every time.
func FuzzGenerate(f *testing.F) {
	f.Add(int64(0), uint32(0))
	f.Add(int64(-1), uint32(1<<31))
	f.Add(int64(1<<40), uint32(77))
	f.Fuzz(func(t *testing.T, seed int64, i uint32) {
		reqs := harness.FreshRequestors(int(i))
		a := newGenerator(seed, harness.DefaultProfile, 3).input(int(i), reqs)
		if err := validateSteps(a); err != nil {
			t.Fatalf("seed %d iteration %d: %v", seed, i, err)
		}
		b := newGenerator(seed, harness.DefaultProfile, 3).input(int(i), reqs)
		if len(a) != len(b) {
			t.Fatal("not deterministic")
		}
		for k := range a {
			if !bytes.Equal(a[k].Fields, b[k].Fields) || a[k].Note != b[k].Note {
				t.Fatalf("step %d differs: %s / %s", k, a[k].Note, b[k].Note)
			}
		}
	})
}

// FuzzSubstituteToken: substituting a token never panics; when the template has an octet-string
// tag 0 the result carries exactly the token there.
func FuzzSubstituteToken(f *testing.F) {
	f.Add(enc(f, ota.NotifyUpdateApplied{UpdateToken: make([]byte, 8), SoftwareVersion: 2}), []byte("token-token"))
	f.Add([]byte{0x15, 0x24, 0x00, 0x01, 0x18}, []byte{1})
	f.Fuzz(func(t *testing.T, fields, token []byte) {
		out := substituteToken(fields, token)
		e, err := tlv.Decode(fields)
		if err != nil || e.Kind != tlv.KindStruct {
			if !bytes.Equal(out, fields) {
				t.Fatal("a template that does not decode as a structure was changed")
			}
			return
		}
		if m, ok := e.Member(tlv.Context(0)); ok && m.Kind == tlv.KindBytes {
			got, err := tlv.Decode(out)
			if err != nil {
				t.Fatalf("substituted fields do not decode: %v", err)
			}
			m2, _ := got.Member(tlv.Context(0))
			if !bytes.Equal(m2.Bytes, token) {
				t.Fatalf("token %X, want %X", m2.Bytes, token)
			}
		}
	})
}
