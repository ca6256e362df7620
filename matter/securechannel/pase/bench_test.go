package pase

import (
	"testing"
)

// BenchmarkHandshakeInMemory is a whole PASE handshake (1000 PBKDF iterations, both sides) between
// two nodes on an in-memory network: the cost of PASE on this side plus the in-process device.
func BenchmarkHandshakeInMemory(b *testing.B) {
	p := memPair(b)
	results := serveDevice(b, p, ResponderConfig{})
	b.ReportAllocs()
	for b.Loop() {
		s, err := Initiate(b.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{})
		if err != nil {
			b.Fatal(err)
		}
		dev := <-results
		if dev.err != nil {
			b.Fatal(dev.err)
		}
		p.commissioner.RemoveSession(s)
		p.device.RemoveSession(dev.s)
	}
}

func BenchmarkDecodePBKDFParamResponse(b *testing.B) {
	var v paseVectors
	loadJSON(b, "matter_pase.json", &v)
	in := unhex(b, v.ContextOnly.Response)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodePBKDFParamResponse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePBKDFParamRequest(b *testing.B) {
	p := DefaultSessionParams()
	req := PBKDFParamRequest{InitiatorSessionID: 0x1234, SessionParams: &p}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := req.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
