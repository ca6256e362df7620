package tlv

import (
	"io"
	"testing"
)

// queryImage writes a typical QueryImage request's fields (ota-provider.md §2.1).
func queryImage(w *Writer) {
	w.StartStruct(Anonymous)
	w.Uint(Context(0), 0xFFF1)
	w.Uint(Context(1), 0x8000)
	w.Uint(Context(2), 1)
	w.StartArray(Context(3))
	w.Uint(Anonymous, 0)
	w.End()
	w.Uint(Context(4), 1)
	w.UTF8(Context(5), "XX")
	w.Bool(Context(6), false)
	w.End()
}

// queryImageResponse writes a typical UpdateAvailable response (§2.2).
func queryImageResponse(w *Writer) {
	w.StartStruct(Anonymous)
	w.Uint(Context(0), 0)
	w.UTF8(Context(2), "bdx://CF4459353701AABD/ota/fff1.8000.local.2")
	w.Uint(Context(3), 2)
	w.UTF8(Context(4), "2.0.0")
	w.OctetString(Context(5), make([]byte, 32))
	w.Bool(Context(6), false)
	w.End()
}

func benchWalk(b *testing.B, in []byte) {
	var r Reader
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		if r.Next() != nil || r.EnterContainer() != nil {
			b.Fatal("bad input")
		}
		for {
			err := r.Next()
			if err == io.EOF {
				break
			}
			switch r.Kind() {
			case KindUint:
				_, _ = r.Uint()
			case KindUTF8:
				_, _ = r.UTF8()
			case KindBytes:
				_, _ = r.Bytes()
			case KindBool:
				_, _ = r.Bool()
			}
		}
	}
}

func encoded(put func(*Writer)) []byte {
	w := NewWriter(nil)
	put(w)
	b, _ := w.Finish()
	return b
}

func BenchmarkReadQueryImage(b *testing.B)         { benchWalk(b, encoded(queryImage)) }
func BenchmarkReadQueryImageResponse(b *testing.B) { benchWalk(b, encoded(queryImageResponse)) }

func benchWrite(b *testing.B, put func(*Writer)) {
	buf := make([]byte, 0, 256)
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(buf[:0])
		put(&w)
		if _, err := w.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteQueryImage(b *testing.B)         { benchWrite(b, queryImage) }
func BenchmarkWriteQueryImageResponse(b *testing.B) { benchWrite(b, queryImageResponse) }

func BenchmarkDecodeTreeQueryImageResponse(b *testing.B) {
	in := encoded(queryImageResponse)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}
