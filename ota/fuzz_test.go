package ota

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/otaconf/otaconf/matter/im"
)

func seedRequests(f *testing.F) {
	q := validQuery()
	f.Add(uint8(CmdQueryImage), mustEnc(q))
	q.MetadataForProvider = bytes.Repeat([]byte{0xAB}, 40)
	q.Location = Ptr("USA")
	f.Add(uint8(CmdQueryImage), mustEnc(q))
	f.Add(uint8(CmdApplyUpdateRequest), mustEnc(ApplyUpdateRequest{UpdateToken: make([]byte, 32), NewVersion: 2}))
	f.Add(uint8(CmdNotifyUpdateApplied), mustEnc(NotifyUpdateApplied{UpdateToken: make([]byte, 8), SoftwareVersion: 2}))
	f.Add(uint8(CmdQueryImageResponse), mustEnc(goodResponse()))
	f.Add(uint8(CmdApplyUpdateResponse), mustEnc(ApplyUpdateResponse{Action: ActionAwaitNextAction, DelayedActionTime: 180}))
}

func mustEnc(c Command) []byte {
	b, err := Encode(c)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzRequests: decoding any bytes as any command never panics, always yields a verdict with a
// defined status and a reason, and a request judged valid re-encodes to something decoding to the
// same value with no verdict (decode → encode → decode is stable).
func FuzzRequests(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, cmd uint8, b []byte) {
		v := ExpectedStatus(CommandID(cmd%6), b)
		if v != nil {
			if !v.Status.Defined() || len(v.Problems) == 0 || v.Reason() == "" {
				t.Fatalf("verdict without status or reason: %+v", v)
			}
			if v.Status != im.InvalidCommand && v.Status != im.ConstraintError && v.Status != im.UnsupportedCommand {
				t.Fatalf("verdict %s is not one the constraint table allows", v.Status)
			}
			return
		}
		var first, second any
		var again []byte
		switch CommandID(cmd % 6) {
		case CmdQueryImage:
			q, _ := DecodeQueryImage(b)
			again = mustEnc(q)
			q2, v2 := DecodeQueryImage(again)
			first, second, v = q, q2, v2
		case CmdApplyUpdateRequest:
			a, _ := DecodeApplyUpdateRequest(b)
			again = mustEnc(a)
			a2, v2 := DecodeApplyUpdateRequest(again)
			first, second, v = a, a2, v2
		case CmdNotifyUpdateApplied:
			n, _ := DecodeNotifyUpdateApplied(b)
			again = mustEnc(n)
			n2, v2 := DecodeNotifyUpdateApplied(again)
			first, second, v = n, n2, v2
		default:
			t.Fatalf("command %d judged processable", cmd%6)
		}
		if v != nil {
			t.Fatalf("re-encoded valid request got verdict %v", v)
		}
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("decode→encode→decode changed %+v into %+v", first, second)
		}
	})
}

// FuzzResponses: checking any bytes as a provider response never panics; every finding names a
// rule, level, section and field.
func FuzzResponses(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, cmd uint8, b []byte) {
		var fs []Finding
		if cmd%2 == 0 {
			_, fs = CheckQueryImageResponse(b, QueryContext{Request: validQuery(), ProviderNodeID: 0xCF4459353701AABD})
		} else {
			_, fs = CheckApplyUpdateResponse(b)
		}
		for _, x := range fs {
			if x.Rule == "" || x.Section == "" || x.Field == "" || x.Message == "" {
				t.Fatalf("incomplete finding %+v", x)
			}
		}
	})
}

// FuzzBDXURI: parsing never panics, and what MakeBDXURI builds parses back cleanly.
func FuzzBDXURI(f *testing.F) {
	f.Add(uint64(0xCF4459353701AABD), "ota/fff1.8000.local.2", "bdx://cf4459353701aabd/x?y")
	f.Fuzz(func(t *testing.T, node uint64, fd string, raw string) {
		_, _ = ParseBDXURI(raw)
		u, err := MakeBDXURI(node, fd)
		if err != nil {
			return
		}
		p, fs := ParseBDXURI(u)
		if len(fs) != 0 || p.NodeID != node || p.Designator != fd {
			t.Fatalf("%q parsed as %+v with %v", u, p, fs)
		}
	})
}
