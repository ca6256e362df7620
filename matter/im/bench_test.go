package im

import "testing"

func BenchmarkEncodeQueryImageInvoke(b *testing.B) {
	fields := unhex(b, queryImageFieldsHex)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeInvoke(queryImagePath, fields, false); err != nil {
			b.Fatal(err)
		}
	}
}

// The same into a reused buffer, as a sender that owns its buffers would do.
func BenchmarkAppendQueryImageInvokeIntoABuffer(b *testing.B) {
	m := InvokeRequest{Requests: []CommandData{{Path: queryImagePath, Fields: unhex(b, queryImageFieldsHex)}}}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeQueryImageInvoke(b *testing.B) {
	in := unhex(b, queryImageInvokeHex)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodeInvokeRequest(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeQueryImageResponse(b *testing.B) {
	fields := unhex(b, queryImageResponseFieldsHex)
	path := CommandPath{Cluster: 0x29, Command: 0x01}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeInvokeResponseCommand(path, fields); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeQueryImageResult(b *testing.B) {
	in := unhex(b, queryImageResponseHex)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodeInvokeResult(in, OpInvokeResponse, queryImagePath); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeGomatAddNOC(b *testing.B) {
	in := gomatPayloads(b)[2]
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodeInvokeRequest(in); err != nil {
			b.Fatal(err)
		}
	}
}
