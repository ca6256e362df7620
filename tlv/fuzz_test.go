package tlv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

func addSpecSeeds(f *testing.F) {
	for _, x := range loadSpecExamples(f) {
		b, _ := hex.DecodeString(x.Hex)
		f.Add(b)
	}
	f.Add([]byte{0x15, 0x26, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2d, 0x01, 0x01, 0x00, 0x61, 0x18})
	f.Add([]byte{0x0b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f}) // a signalling NaN
}

// FuzzDecode: decoding never panics; whatever decodes re-encodes to the exact input, passes the
// checker, and survives the JSON form; whatever fails carries an offset inside the input.
func FuzzDecode(f *testing.F) {
	addSpecSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		elems, err := DecodeAll(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(b) {
				t.Fatalf("error without a valid offset: %v", err)
			}
			return
		}
		var out []byte
		for _, e := range elems {
			out, err = AppendEncode(out, e)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encode differs:\n in %X\nout %X", b, out)
		}
		if _, err := Check(b); err != nil {
			t.Fatalf("Check fails where DecodeAll succeeded: %v", err)
		}
		for _, e := range elems {
			js, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("json: %v", err)
			}
			var back Element
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatalf("json back: %v\n%s", err, js)
			}
			if !back.Equal(&e) {
				t.Fatalf("json round trip changed %s into %s", e, back)
			}
			_ = e.Pretty()
		}
	})
}

// FuzzReader drives the streaming Reader with an arbitrary walk (the second input picks, per step,
// to enter, exit or read a value): it never panics, never loops, and agrees with DecodeAll about
// whether the input is well-formed when it walks everything.
func FuzzReader(f *testing.F) {
	addSpecSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		steps := 0
		var walkErr error
		for steps < 10*len(b)+10 {
			steps++
			err := r.Next()
			if err == io.EOF {
				if r.Depth() == 0 {
					break
				}
				if err := r.ExitContainer(); err != nil {
					walkErr = err
					break
				}
				continue
			}
			if err != nil {
				walkErr = err
				break
			}
			switch r.Kind() {
			case KindInt:
				_, _ = r.Int()
			case KindUint:
				_, _ = r.Uint()
			case KindUTF8:
				_, _ = r.UTF8()
			case KindBytes:
				v, _ := r.Bytes()
				if len(v) != r.Len() {
					t.Fatal("Bytes and Len disagree")
				}
			case KindStruct, KindArray, KindList:
				if len(b)%2 == 0 { // enter some, skip others
					if err := r.EnterContainer(); err != nil {
						walkErr = err
						break
					}
				}
			}
			_ = r.Path()
		}
		if steps >= 10*len(b)+10 {
			t.Fatalf("reader did not finish within %d steps", steps)
		}
		_, err := DecodeAll(b)
		if (err == nil) != (walkErr == nil) {
			t.Fatalf("walk error %v, DecodeAll error %v", walkErr, err)
		}
	})
}
