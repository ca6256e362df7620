package ota

import (
	"testing"

	"github.com/otaconf/otaconf/tlv"
)

func BenchmarkDecodeQueryImage(b *testing.B) {
	in := mustEnc(validQuery())
	b.ReportAllocs()
	for b.Loop() {
		if _, v := DecodeQueryImage(in); v != nil {
			b.Fatal(v)
		}
	}
}

func BenchmarkEncodeQueryImage(b *testing.B) {
	q := validQuery()
	w := tlv.NewWriter(make([]byte, 0, 128))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(w.Bytes()[:0])
		q.WriteTLV(w, tlv.Anonymous)
	}
}

func BenchmarkCheckQueryImageResponse(b *testing.B) {
	in := mustEnc(goodResponse())
	ctx := QueryContext{Request: validQuery(), ProviderNodeID: 0xCF4459353701AABD}
	b.ReportAllocs()
	for b.Loop() {
		if _, fs := CheckQueryImageResponse(in, ctx); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

func BenchmarkEncodeQueryImageResponse(b *testing.B) {
	r := goodResponse()
	w := tlv.NewWriter(make([]byte, 0, 128))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(w.Bytes()[:0])
		r.WriteTLV(w, tlv.Anonymous)
	}
}
