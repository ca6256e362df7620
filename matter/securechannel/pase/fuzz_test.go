package pase

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"testing/synctest"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/securechannel"
)

// codec is one message type's decoder and encoder, for the shared round-trip property.
type codec[M any] struct {
	decode func([]byte) (M, error)
	encode func(M) ([]byte, error)
}

// roundTrip checks, for any input: decoding never panics; a decoded message encodes (every value
// a decoder accepts is encodable); the encoding decodes to the same message; and encoding is a
// fixed point (encode(decode(encode(m))) == encode(m)). A failed decode must be a *DecodeError.
func roundTrip[M any](t *testing.T, c codec[M], in []byte) {
	m, err := c.decode(in)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("decode error %v (%T) is not a *DecodeError", err, err)
		}
		if de.Offset < 0 || de.Offset > len(in) {
			t.Fatalf("decode error offset %d outside the %d-byte input: %v", de.Offset, len(in), err)
		}
		return
	}
	enc, err := c.encode(m)
	if err != nil {
		t.Fatalf("decoded %+v but cannot encode it: %v", m, err)
	}
	m2, err := c.decode(enc)
	if err != nil {
		t.Fatalf("re-encoding %x does not decode: %v", enc, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("decode→encode→decode changed the message:\n%+v\n%+v", m, m2)
	}
	enc2, err := c.encode(m2)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable: %x vs %x (%v)", enc, enc2, err)
	}
	if len(enc) <= len(in) && bytes.Equal(enc, in[:len(enc)]) && len(enc) != len(in) {
		t.Fatalf("decoder accepted %d trailing bytes", len(in)-len(enc))
	}
}

func addVectors(f *testing.F, key string) {
	var v paseVectors
	loadJSON(f, "matter_pase.json", &v)
	for _, e := range v.Exchanges {
		if key == "request" {
			f.Add(unhex(f, e.Request))
		} else {
			f.Add(unhex(f, e.Response))
		}
	}
	if key == "request" {
		f.Add(unhex(f, v.ContextOnly.Request))
	} else {
		f.Add(unhex(f, v.ContextOnly.Response))
	}
}

func FuzzDecodePBKDFParamRequest(f *testing.F) {
	addVectors(f, "request")
	f.Add([]byte{0x15, 0x18})
	f.Add([]byte{0x15, 0x35, 0x05, 0x26, 0x03, 0, 0, 1, 0, 0x18, 0x18})
	c := codec[PBKDFParamRequest]{DecodePBKDFParamRequest, func(m PBKDFParamRequest) ([]byte, error) { return m.Append(nil) }}
	f.Fuzz(func(t *testing.T, in []byte) { roundTrip(t, c, in) })
}

func FuzzDecodePBKDFParamResponse(f *testing.F) {
	addVectors(f, "response")
	f.Add(respWith(bytes.Repeat([]byte{1}, 32), append(append([]byte{0x35, 0x04, 0x25, 0x01, 0xE8, 0x03, 0x30, 0x02, 0x0F}, make([]byte, 15)...), 0x18)))
	c := codec[PBKDFParamResponse]{DecodePBKDFParamResponse, func(m PBKDFParamResponse) ([]byte, error) { return m.Append(nil) }}
	f.Fuzz(func(t *testing.T, in []byte) { roundTrip(t, c, in) })
}

func FuzzDecodePake1(f *testing.F) {
	var v paseVectors
	loadJSON(f, "matter_pase.json", &v)
	var p Pake1
	copy(p.PA[:], unhex(f, v.Exchanges[0].X))
	b, _ := p.Append(nil)
	f.Add(b)
	f.Add(b[:30])
	c := codec[Pake1]{DecodePake1, func(m Pake1) ([]byte, error) { return m.Append(nil) }}
	f.Fuzz(func(t *testing.T, in []byte) { roundTrip(t, c, in) })
}

func FuzzDecodePake2(f *testing.F) {
	var v paseVectors
	loadJSON(f, "matter_pase.json", &v)
	var p Pake2
	copy(p.PB[:], unhex(f, v.Exchanges[0].Y))
	copy(p.CB[:], unhex(f, v.Exchanges[0].CB))
	b, _ := p.Append(nil)
	f.Add(b)
	f.Add(append(b[:len(b)-1], 0x24, 0x07, 0x01, 0x18))
	c := codec[Pake2]{DecodePake2, func(m Pake2) ([]byte, error) { return m.Append(nil) }}
	f.Fuzz(func(t *testing.T, in []byte) { roundTrip(t, c, in) })
}

func FuzzDecodePake3(f *testing.F) {
	var v paseVectors
	loadJSON(f, "matter_pase.json", &v)
	var p Pake3
	copy(p.CA[:], unhex(f, v.Exchanges[0].CA))
	b, _ := p.Append(nil)
	f.Add(b)
	f.Add(b[:5])
	c := codec[Pake3]{DecodePake3, func(m Pake3) ([]byte, error) { return m.Append(nil) }}
	f.Fuzz(func(t *testing.T, in []byte) { roundTrip(t, c, in) })
}

// fuzzSalt is the fuzz device's PBKDF salt.
var fuzzSalt = bytes.Repeat([]byte{0x5A}, 16)

// FuzzInitiate runs the initiator against a device that plays PASE genuinely except that one of its
// three answers (which % 3: PBKDFParamResponse, Pake2, the final StatusReport) is replaced by an
// arbitrary message (opcode op; op ≥ 0x80 sends it on the IM protocol) with an arbitrary payload.
// Initiate must return, without panicking, either a working session or an error wrapping one of the
// package's sentinels; it cannot hang (every wait is bounded, and synctest's clock runs the timers).
func FuzzInitiate(f *testing.F) {
	w0, _, L, err := mcrypto.PASEVerifier(testPasscode, fuzzSalt, 1000)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: each step replaced by its own kind of message, garbage, a StatusReport, an IM message.
	f.Add(uint8(0), securechannel.OpPBKDFParamResponse, []byte{0x15, 0x18})
	f.Add(uint8(0), securechannel.OpStatusReport, statusReport(securechannel.GeneralBusy, securechannel.CodeBusy, 0x10, 0x00))
	f.Add(uint8(1), securechannel.OpPASEPake2, bytes.Repeat([]byte{0x04}, 70))
	f.Add(uint8(1), uint8(0x85), []byte("im"))
	f.Add(uint8(2), securechannel.OpStatusReport, statusReport(securechannel.GeneralSuccess, 0, 1, 2, 3))
	f.Add(uint8(2), securechannel.OpStatusReport, statusReport(securechannel.GeneralFailure, securechannel.CodeInvalidParameter))
	f.Add(uint8(2), securechannel.OpPASEPake3, []byte{})
	f.Fuzz(func(t *testing.T, which, op uint8, payload []byte) {
		which %= 3
		synctest.Test(t, func(t *testing.T) {
			p := memPair(t)
			script(t, p.device, func(ctx context.Context, x *mrp.Exchange, first message.Message) {
				fuzzDevice(ctx, x, first, w0, L, which, op, payload)
			})
			s, err := Initiate(t.Context(), p.commissioner, p.deviceAddr, testPasscode, Options{Rand: seeded(7)})
			if err == nil {
				if s == nil || s.PeerSessionID() == 0 {
					t.Fatalf("success without a usable session: %v", s)
				}
				return
			}
			for _, sentinel := range []error{ErrProtocol, ErrRejected, ErrTimeout, ErrConfirmation} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error wraps none of the sentinels: %v", err)
		})
	})
}

// fuzzDevice is the device side of FuzzInitiate.
func fuzzDevice(ctx context.Context, x *mrp.Exchange, first message.Message, w0, L []byte, which, op uint8, payload []byte) {
	send := func(step uint8, genuineOp uint8, genuine []byte) bool {
		proto, o, b := message.ProtocolSecureChannel, genuineOp, genuine
		if step == which {
			o, b = op, payload
			if op >= 0x80 {
				proto, o = message.ProtocolIM, op-0x80
			}
		}
		return x.Send(ctx, proto, o, b) == nil
	}
	req, err := DecodePBKDFParamRequest(first.Payload)
	if err != nil {
		return
	}
	resp := PBKDFParamResponse{InitiatorRandom: req.InitiatorRandom, ResponderSessionID: 77,
		PBKDF: &PBKDFParameters{Iterations: 1000, Salt: fuzzSalt}}
	respBytes, _ := resp.Append(nil)
	if !send(0, securechannel.OpPBKDFParamResponse, respBytes) {
		return
	}
	m, err := x.Receive(ctx)
	if err != nil || !m.Is(message.ProtocolSecureChannel, securechannel.OpPASEPake1) {
		return
	}
	p1, err := DecodePake1(m.Payload)
	if err != nil {
		return
	}
	v, err := mcrypto.NewVerifier(mcrypto.PASEContext(first.Payload, respBytes), w0, L, seeded(8))
	if err != nil {
		return
	}
	Y, cB, err := v.Share(p1.PA[:])
	if err != nil {
		return
	}
	var p2 Pake2
	copy(p2.PB[:], Y)
	copy(p2.CB[:], cB)
	p2Bytes, _ := p2.Append(nil)
	if !send(1, securechannel.OpPASEPake2, p2Bytes) {
		return
	}
	if m, err = x.Receive(ctx); err != nil {
		return
	}
	send(2, securechannel.OpStatusReport, statusReport(securechannel.GeneralSuccess, 0))
}
