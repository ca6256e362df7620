package tlv

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriterUsesTheSmallestWidths(t *testing.T) {
	cases := []struct {
		name string
		put  func(w *Writer)
		hex  string
	}{
		{"int8 max", func(w *Writer) { w.Int(Anonymous, 127) }, "007f"},
		{"int8 min", func(w *Writer) { w.Int(Anonymous, -128) }, "0080"},
		{"int16 above int8", func(w *Writer) { w.Int(Anonymous, 128) }, "018000"},
		{"int32", func(w *Writer) { w.Int(Anonymous, -32769) }, "02ff7fffff"},
		{"int64 min", func(w *Writer) { w.Int(Anonymous, math.MinInt64) }, "030000000000000080"},
		{"uint8 max", func(w *Writer) { w.Uint(Anonymous, 255) }, "04ff"},
		{"uint16", func(w *Writer) { w.Uint(Anonymous, 256) }, "050001"},
		{"uint32", func(w *Writer) { w.Uint(Anonymous, 65536) }, "0600000100"},
		{"uint64", func(w *Writer) { w.Uint(Anonymous, 1<<32) }, "070000000001000000"},
		{"a 256-octet string takes a 2-octet length", func(w *Writer) { w.OctetString(Anonymous, make([]byte, 256)) }, "110001" + hex.EncodeToString(make([]byte, 256))},
		{"context-tagged structure", func(w *Writer) { w.StartStruct(Context(1)); w.Bool(Context(0), true); w.End() }, "35012900" + "18"},
		{"forced wide integer", func(w *Writer) { w.UintWithWidth(Context(2), 1, 4) }, "260201000000"},
		{"forced wide length", func(w *Writer) { w.UTF8WithWidth(Anonymous, "a", 2) }, "0d010061"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewWriter(nil)
			c.put(w)
			b, err := w.Finish()
			require.NoError(t, err)
			require.Equal(t, c.hex, hex.EncodeToString(b))
		})
	}
}

func TestWriterRefusesMisuse(t *testing.T) {
	cases := []struct {
		name string
		put  func(w *Writer)
		msg  string
	}{
		{"anonymous member of a structure", func(w *Writer) { w.StartStruct(Anonymous); w.Uint(Anonymous, 1); w.End() }, "anonymous uint8 inside a structure"},
		{"tagged member of an array", func(w *Writer) { w.StartArray(Anonymous); w.Uint(Context(1), 1); w.End() }, "inside an array"},
		{"an open container", func(w *Writer) { w.StartList(Anonymous) }, "1 container(s) not ended"},
		{"an End too many", func(w *Writer) { w.End() }, "End without an open container"},
		{"a value too wide for its forced width", func(w *Writer) { w.UintWithWidth(Anonymous, 300, 1) }, "does not fit width 1"},
		{"invalid UTF-8", func(w *Writer) { w.UTF8(Anonymous, "\xc3\x28") }, "not valid UTF-8"},
		{"a context tag number over 255", func(w *Writer) { w.Null(Tag{Form: FormContext, Number: 256}) }, "does not fit tag form"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewWriter(nil)
			c.put(w)
			_, err := w.Finish()
			require.ErrorContains(t, err, c.msg)
		})
	}
}

func TestNonCanonicalInputReEncodesExactlyAndCanonicalisesOnRequest(t *testing.T) {
	// {0 = 1U in 4 octets, 1 = "a" with a 2-octet length, Matter::1 in the 4-octet form = 42U}
	in := mustHex(t, "15 26 00 01 00 00 00 2d 01 01 00 61 64 01 00 00 00 2a 18")
	e, err := Decode(in)
	require.NoError(t, err)
	out, err := Encode(e)
	require.NoError(t, err)
	require.Equal(t, in, out)
	canon, err := Encode(e.Canonical())
	require.NoError(t, err)
	require.Equal(t, "15240001"+"2c010161"+"4401002a"+"18", hex.EncodeToString(canon))
}

func TestCheckReportsShouldLevelFindings(t *testing.T) {
	// {1 = 1U (in 4 octets), 0 = "a" (2-octet length), 0 = true, Matter::1 (4-octet form) = 1U}
	in := mustHex(t, "15 26 01 01 00 00 00 2d 00 01 00 61 29 00 64 01 00 00 00 01 18")
	f, err := Check(in)
	require.NoError(t, err)
	rules := []string{}
	for _, x := range f {
		rules = append(rules, x.Rule)
	}
	require.Equal(t, []string{RuleNonMinimalInt, RuleTagOrder, RuleNonMinimalLength, RuleDuplicateTag, RuleNonMinimalTag}, rules)
	require.Equal(t, "$.1", f[0].Path)
	require.Equal(t, 1, f[0].Offset)
	require.Equal(t, "byte 7 ($.0): context-tag-order: context tag 0 after 1", f[1].String())
}

func TestPrettyKeepsShortContainersOnOneLine(t *testing.T) {
	e := StructElem(Anonymous,
		UintElem(Context(0), 0xFFF1),
		ArrayElem(Context(3), UintElem(Anonymous, 0)),
		BytesElem(Context(7), make([]byte, 40)),
	)
	require.Equal(t, "{\n  0 = 65521U,\n  3 = [0U],\n  7 = hex:"+
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"+",\n}", e.Pretty())
	require.Equal(t, "{0 = 65521U, 3 = [0U]}", StructElem(Anonymous, UintElem(Context(0), 0xFFF1), ArrayElem(Context(3), UintElem(Anonymous, 0))).Pretty())
}
