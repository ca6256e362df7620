package im

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/otaconf/otaconf/tlv"
)

// requireDecodeError fails unless err is a *DecodeError that locates the fault inside the input.
func requireDecodeError(t *testing.T, err error, in []byte) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error is not a *DecodeError: %v", err)
	}
	if de.Offset < 0 || de.Offset > len(in) || de.Field == "" || de.Path == "" || de.Err == nil || de.Section == "" {
		t.Fatalf("error does not locate the fault in %d octets: %#v", len(in), de)
	}
}

// requireVerbatim fails unless fields is an anonymous structure whose bytes after the control
// octet appear in the input as they are.
func requireVerbatim(t *testing.T, fields, in []byte) {
	t.Helper()
	if fields == nil {
		return
	}
	if len(fields) < 2 || fields[0] != 0x15 || !bytes.Contains(in, fields[1:]) {
		t.Fatalf("fields %X are not the input's structure re-tagged", fields)
	}
}

func addRequestSeeds(f *testing.F) {
	for _, p := range gomatPayloads(f) {
		f.Add(p)
	}
	f.Add(unhex(f, queryImageInvokeHex))
	f.Add(unhex(f, req("15 37 00 24 00 00 04 05 24 01 29 24 02 00 18 44 01 00 29 35 01 2c 05 02 c3 28 18 24 02 05 18")))
	f.Add(unhex(f, "15 28 00 28 01 36 02 18 18"))
}

func addResponseSeeds(f *testing.F) {
	f.Add(unhex(f, queryImageResponseHex))
	f.Add(unhex(f, notifySuccessHex))
	f.Add(unhex(f, resp("15 35 01 "+pathList+" 35 01 24 00 01 24 01 05 18 24 02 07 18")))
	f.Add(unhex(f, "15 28 00 36 01 18 29 02 24 ff 0a 18"))
}

// FuzzDecodeInvokeRequest: decoding never panics; a refusal locates the fault; what decodes
// re-encodes, decodes to the same value (the revision filled in) and re-encodes to the same bytes,
// and its fields are the input's, verbatim.
func FuzzDecodeInvokeRequest(f *testing.F) {
	addRequestSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeInvokeRequest(in)
		if err != nil {
			requireDecodeError(t, err, in)
			return
		}
		for _, r := range m.Requests {
			requireVerbatim(t, r.Fields, in)
		}
		b, err := m.Append(nil)
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", m, err)
		}
		m2, err := DecodeInvokeRequest(b)
		if err != nil {
			t.Fatalf("re-encoding %X does not decode: %v", b, err)
		}
		want := m
		want.IMRevision = revision(m.IMRevision)
		if !reflect.DeepEqual(want, m2) {
			t.Fatalf("second decode differs:\n %+v\n %+v", want, m2)
		}
		if b2, err := m2.Append(nil); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not a fixed point: %X then %X (%v)", b, b2, err)
		}
	})
}

// FuzzDecodeInvokeResponse: as FuzzDecodeInvokeRequest, for InvokeResponseMessage.
func FuzzDecodeInvokeResponse(f *testing.F) {
	addResponseSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeInvokeResponse(in)
		if err != nil {
			requireDecodeError(t, err, in)
			return
		}
		for _, r := range m.Responses {
			if (r.Command == nil) == (r.Status == nil) {
				t.Fatalf("decoded an InvokeResponseIB with neither or both choices: %+v", r)
			}
			if r.Command != nil {
				requireVerbatim(t, r.Command.Fields, in)
			}
		}
		b, err := m.Append(nil)
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", m, err)
		}
		m2, err := DecodeInvokeResponse(b)
		if err != nil {
			t.Fatalf("re-encoding %X does not decode: %v", b, err)
		}
		want := m
		want.IMRevision = revision(m.IMRevision)
		if !reflect.DeepEqual(want, m2) {
			t.Fatalf("second decode differs:\n %+v\n %+v", want, m2)
		}
		if b2, err := m2.Append(nil); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not a fixed point: %X then %X (%v)", b, b2, err)
		}
	})
}

// FuzzDecodeStatusResponse: decoding never panics; a refusal locates the fault; what decodes
// survives a round trip.
func FuzzDecodeStatusResponse(f *testing.F) {
	f.Add(unhex(f, statusResponseHex))
	f.Add(unhex(f, "15 24 00 00 18"))
	f.Add(unhex(f, "15 25 00 87 00 24 07 01 24 ff 0a 18"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeStatusResponse(in)
		if err != nil {
			requireDecodeError(t, err, in)
			return
		}
		b, err := m.Append(nil)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := DecodeStatusResponse(b)
		if err != nil || m2 != (StatusResponse{m.Status, revision(m.IMRevision)}) {
			t.Fatalf("round trip changed %+v into %+v (%v)", m, m2, err)
		}
	})
}

// FuzzDecodeTimedRequest: decoding never panics; what decodes survives a round trip.
func FuzzDecodeTimedRequest(f *testing.F) {
	f.Add(unhex(f, timedRequestHex))
	f.Add(unhex(f, "15 24 00 00 18"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeTimedRequest(in)
		if err != nil {
			requireDecodeError(t, err, in)
			return
		}
		b, err := m.Append(nil)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := DecodeTimedRequest(b)
		if err != nil || m2 != (TimedRequest{m.TimeoutMs, revision(m.IMRevision)}) {
			t.Fatalf("round trip changed %+v into %+v (%v)", m, m2, err)
		}
	})
}

// FuzzDecodeInvokeResult: never panics; refuses only with a *DecodeError or one of the result
// sentinels; a result, re-encoded as the answer it claims to be, decodes to the same result.
func FuzzDecodeInvokeResult(f *testing.F) {
	f.Add(unhex(f, queryImageResponseHex), OpInvokeResponse, uint16(0), uint32(0x29), uint32(0))
	f.Add(unhex(f, notifySuccessHex), OpInvokeResponse, uint16(0), uint32(0x29), uint32(4))
	f.Add(unhex(f, statusResponseHex), OpStatusResponse, uint16(0), uint32(0x29), uint32(0))
	f.Add(unhex(f, resp("15 35 01 "+pathList+" 35 01 24 00 01 24 01 05 18 18")), OpInvokeResponse, uint16(0), uint32(0x29), uint32(1))
	f.Add(unhex(f, "15 28 00 36 01 18 29 02 24 ff 0a 18"), OpInvokeResponse, uint16(0), uint32(0x29), uint32(0))
	sentinels := []error{ErrUnexpectedOpcode, ErrNoResponse, ErrTooManyResponses, ErrChunked, ErrPathMismatch}
	f.Fuzz(func(t *testing.T, in []byte, opcode uint8, endpoint uint16, cluster, command uint32) {
		want := CommandPath{endpoint, cluster, command}
		r, err := DecodeInvokeResult(in, opcode, want)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			requireDecodeError(t, err, in)
			return
		}
		var b []byte
		switch {
		case opcode == OpStatusResponse:
			b = EncodeStatusResponse(r.Status)
		case r.HasCommand:
			if r.Status != Success || r.ClusterStatus != nil {
				t.Fatalf("a command result with a status: %+v", r)
			}
			requireVerbatim(t, r.Fields, in)
			b, err = InvokeResponse{Responses: []InvokeResponseIB{{Command: &CommandData{
				Path: CommandPath{endpoint, cluster, r.Command}, Fields: r.Fields}}}}.Append(nil)
		default:
			b, err = InvokeResponse{Responses: []InvokeResponseIB{{Status: &CommandStatus{
				Path: want, Status: StatusIB{r.Status, r.ClusterStatus}}}}}.Append(nil)
		}
		if err != nil {
			t.Fatalf("result %+v does not re-encode: %v", r, err)
		}
		r2, err := DecodeInvokeResult(b, opcode, want)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed %+v into %+v (%v)", r, r2, err)
		}
	})
}

// FuzzEncodeInvoke: any byte string given as fields is either refused with ErrBadFields or travels
// verbatim through a request and a response; what the strict tlv decoder accepts is refused only
// for depth.
func FuzzEncodeInvoke(f *testing.F) {
	f.Add(unhex(f, queryImageFieldsHex), uint16(0), uint32(0x29), uint32(0))
	f.Add(unhex(f, queryImageResponseFieldsHex), uint16(1), uint32(0x29), uint32(1))
	f.Add(unhex(f, "15 2c 05 02 c3 28 18"), uint16(0), uint32(0x29), uint32(0))
	f.Add(unhex(f, "15 04 07 36 01 24 01 00 18 18"), uint16(0), uint32(0xFFF1FC00), uint32(0))
	f.Add([]byte{0x15}, uint16(0), uint32(0), uint32(0))
	f.Fuzz(func(t *testing.T, fields []byte, endpoint uint16, cluster, command uint32) {
		path := CommandPath{endpoint, cluster, command}
		_, strictErr := tlv.Decode(fields)
		strictOK := strictErr == nil && len(fields) > 0 && fields[0] == 0x15
		b, err := EncodeInvoke(path, fields, false)
		if err != nil {
			if !errors.Is(err, ErrBadFields) {
				t.Fatalf("refusal without ErrBadFields: %v", err)
			}
			if strictOK && !errors.Is(err, tlv.ErrTooDeep) {
				t.Fatalf("refused fields the strict tlv decoder accepts: %v", err)
			}
			return
		}
		m, err := DecodeInvokeRequest(b)
		if err != nil || len(m.Requests) != 1 || m.Requests[0].Path != path || !bytes.Equal(m.Requests[0].Fields, fields) {
			t.Fatalf("request did not carry the fields verbatim: %+v (%v)", m, err)
		}
		rb, err := EncodeInvokeResponseCommand(path, fields)
		if err != nil {
			if !errors.Is(err, tlv.ErrTooDeep) {
				t.Fatalf("a response refuses fields a request took: %v", err)
			}
			return
		}
		r, err := DecodeInvokeResult(rb, OpInvokeResponse, path)
		if err != nil || !bytes.Equal(r.Fields, fields) {
			t.Fatalf("response did not carry the fields verbatim: %+v (%v)", r, err)
		}
	})
}
