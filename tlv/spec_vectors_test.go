package tlv

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The 36 examples of the Core spec's TLV appendix (testdata/tlv_spec_examples.json, copied from
// ../shared/vectors), with the element each one encodes and its notation, in file order.
var specExpect = []struct {
	elem     Element
	notation string
}{
	{BoolElem(Anonymous, false), "false"},
	{BoolElem(Anonymous, true), "true"},
	{IntElem(Anonymous, 42), "42"},
	{IntElem(Anonymous, -17), "-17"},
	{UintElem(Anonymous, 42), "42U"},
	{IntElem(Anonymous, 422), "422"},
	{IntElem(Anonymous, -170000), "-170000"},
	{IntElem(Anonymous, 40000000000), "40000000000"},
	{StringElem(Anonymous, "Hello!"), `"Hello!"`},
	{StringElem(Anonymous, "Tschüs"), `"Tschüs"`},
	{BytesElem(Anonymous, []byte{0, 1, 2, 3, 4}), "hex:0001020304"},
	{NullElem(Anonymous), "null"},
	{Float32Elem(Anonymous, 0), "0.0"},
	{Float32Elem(Anonymous, float32(1.0)/3.0), "0.33333334"},
	{Float32Elem(Anonymous, 17.9), "17.9"},
	{Float32Elem(Anonymous, float32(math.Inf(1))), "Inf"},
	{Float32Elem(Anonymous, float32(math.Inf(-1))), "-Inf"},
	{Float64Elem(Anonymous, 0), "0.0"},
	{Float64Elem(Anonymous, 1.0/3.0), "0.3333333333333333"},
	{Float64Elem(Anonymous, 17.9), "17.9"},
	{Float64Elem(Anonymous, math.Inf(1)), "Inf"},
	{Float64Elem(Anonymous, math.Inf(-1)), "-Inf"},
	{StructElem(Anonymous), "{}"},
	{ArrayElem(Anonymous), "[]"},
	{ListElem(Anonymous), "[[]]"},
	{StructElem(Anonymous, IntElem(Context(0), 42), IntElem(Context(1), -17)), "{0 = 42, 1 = -17}"},
	{ArrayElem(Anonymous, IntElem(Anonymous, 0), IntElem(Anonymous, 1), IntElem(Anonymous, 2), IntElem(Anonymous, 3), IntElem(Anonymous, 4)), "[0, 1, 2, 3, 4]"},
	{ListElem(Anonymous, IntElem(Anonymous, 1), IntElem(Context(0), 42), IntElem(Anonymous, 2), IntElem(Anonymous, 3), IntElem(Context(0), -17)), "[[1, 0 = 42, 2, 3, 0 = -17]]"},
	{ArrayElem(Anonymous, IntElem(Anonymous, 42), IntElem(Anonymous, -170000), StructElem(Anonymous), Float32Elem(Anonymous, 17.9), StringElem(Anonymous, "Hello!")), `[42, -170000, {}, 17.9, "Hello!"]`},
	{UintElem(Anonymous, 42), "42U"},
	{UintElem(Context(1), 42), "1 = 42U"},
	{UintElem(CommonProfile(1), 42), "Matter::1 = 42U"},
	{UintElem(CommonProfile(100000), 42), "Matter::100000 = 42U"},
	{UintElem(FullyQualified(0xFFF1, 0xDEED, 1), 42), "65521::57069:1 = 42U"},
	{UintElem(FullyQualified(0xFFF1, 0xDEED, 0xAA55FEED), 42), "65521::57069:2857762541 = 42U"},
	{StructElem(FullyQualified(0xFFF1, 0xDEED, 1), UintElem(FullyQualified(0xFFF1, 0xDEED, 0xAA55), 42)), "65521::57069:1 = {65521::57069:43605 = 42U}"},
}

type specExample struct {
	Description string `json:"description"`
	Hex         string `json:"hex"`
}

func loadSpecExamples(t testing.TB) []specExample {
	raw, err := os.ReadFile("testdata/tlv_spec_examples.json")
	require.NoError(t, err)
	var f struct {
		Examples []specExample `json:"examples"`
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	return f.Examples
}

func TestSpecExamplesDecodeToTheirElements(t *testing.T) {
	ex := loadSpecExamples(t)
	require.Len(t, ex, 36)
	require.Len(t, specExpect, 36)
	for i, x := range ex {
		t.Run(x.Description, func(t *testing.T) {
			b, err := hex.DecodeString(x.Hex)
			require.NoError(t, err)
			got, err := Decode(b)
			require.NoError(t, err)
			want := specExpect[i].elem
			require.Truef(t, got.Equal(&want), "decoded %s, want %s", got, want)
			require.Equal(t, specExpect[i].notation, got.String())
			findings, err := Check(b)
			require.NoError(t, err)
			require.Empty(t, findings, "spec examples are canonical")
		})
	}
}

func TestSpecExamplesEncodeFromTheirElements(t *testing.T) {
	for i, x := range loadSpecExamples(t) {
		t.Run(x.Description, func(t *testing.T) {
			got, err := Encode(specExpect[i].elem)
			require.NoError(t, err)
			require.Equal(t, x.Hex, hex.EncodeToString(got))
		})
	}
}

func TestSpecExamplesSurviveTheJSONForm(t *testing.T) {
	for _, x := range loadSpecExamples(t) {
		t.Run(x.Description, func(t *testing.T) {
			b, _ := hex.DecodeString(x.Hex)
			e, err := Decode(b)
			require.NoError(t, err)
			js, err := json.Marshal(e)
			require.NoError(t, err)
			var back Element
			require.NoError(t, json.Unmarshal(js, &back), string(js))
			out, err := Encode(back)
			require.NoError(t, err)
			require.Equal(t, x.Hex, hex.EncodeToString(out), string(js))
		})
	}
}
