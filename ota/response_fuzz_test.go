package ota

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzResponseRoundTrip: a provider response that decodes (no response.encoding finding) re-encodes,
// and decode → encode → decode is stable from there: the second decoding equals the first and encodes
// to the same octets. (FuzzRequests does this for the requests; FuzzResponses checks the findings.)
func FuzzResponseRoundTrip(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, cmd uint8, b []byte) {
		var first Command
		var fs []Finding
		if cmd%2 == 0 {
			first, fs = DecodeQueryImageResponse(b)
		} else {
			first, fs = DecodeApplyUpdateResponse(b)
		}
		if hasMustDecode(fs) {
			return
		}
		enc, err := Encode(first)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", first, err)
		}
		var second Command
		if cmd%2 == 0 {
			second, fs = DecodeQueryImageResponse(enc)
		} else {
			second, fs = DecodeApplyUpdateResponse(enc)
		}
		if hasMustDecode(fs) || !reflect.DeepEqual(first, second) {
			t.Fatalf("decode → encode → decode changed %+v into %+v (%v)", first, second, fs)
		}
		if again, _ := Encode(second); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable: %X then %X", enc, again)
		}
	})
}
