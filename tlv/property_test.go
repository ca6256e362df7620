package tlv

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// genTag generates a tag fit for a member of a container of kind parent (KindInvalid = top level).
func genTag(parent Kind) gopter.Gen {
	anon := gen.Const(Anonymous)
	ctx := gen.UInt8().Map(func(n uint8) Tag { return Context(n) })
	common := gen.UInt32().Map(func(n uint32) Tag { return CommonProfile(n) })
	implicit := gen.UInt32Range(0, 70000).Map(func(n uint32) Tag { return ImplicitProfile(n) })
	fq := gopter.CombineGens(gen.UInt16(), gen.UInt16(), gen.UInt32()).Map(func(v []any) Tag {
		return FullyQualified(v[0].(uint16), v[1].(uint16), v[2].(uint32))
	})
	switch parent {
	case KindArray:
		return anon
	case KindStruct:
		return gen.Weighted([]gen.WeightedGen{{Weight: 6, Gen: ctx}, {Weight: 1, Gen: common}, {Weight: 1, Gen: implicit}, {Weight: 1, Gen: fq}})
	}
	return gen.Weighted([]gen.WeightedGen{{Weight: 4, Gen: anon}, {Weight: 4, Gen: ctx}, {Weight: 1, Gen: common}, {Weight: 1, Gen: fq}})
}

var genWidth = gen.OneConstOf(0, 0, 0, 1, 2, 4, 8)

func withWidth(e Element, w int) Element {
	var minimal int
	switch e.Kind {
	case KindInt:
		minimal = IntWidth(e.Int)
	case KindUint:
		minimal = UintWidth(e.Uint)
	case KindUTF8, KindBytes:
		minimal = UintWidth(uint64(len(e.Bytes)))
	default:
		return e
	}
	if w > minimal {
		e.Width = w
	}
	return e
}

func genScalar(parent Kind) gopter.Gen {
	value := gen.OneGenOf(
		gen.Int64().Map(func(v int64) Element { return Element{Kind: KindInt, Int: v} }),
		gen.Int64Range(-200, 200).Map(func(v int64) Element { return Element{Kind: KindInt, Int: v} }),
		gen.UInt64().Map(func(v uint64) Element { return Element{Kind: KindUint, Uint: v} }),
		gen.UInt64Range(0, 70000).Map(func(v uint64) Element { return Element{Kind: KindUint, Uint: v} }),
		gen.Bool().Map(func(v bool) Element { return Element{Kind: KindBool, Bool: v} }),
		gen.Float32().Map(func(v float32) Element { return Element{Kind: KindFloat32, Float: float64(v)} }),
		gen.Float64().Map(func(v float64) Element { return Element{Kind: KindFloat64, Float: v} }),
		gen.AnyString().SuchThat(utf8.ValidString).Map(func(s string) Element { return Element{Kind: KindUTF8, Bytes: []byte(s)} }),
		gen.SliceOf(gen.UInt8()).Map(func(b []byte) Element {
			if b == nil {
				b = []byte{}
			}
			return Element{Kind: KindBytes, Bytes: b}
		}),
		gen.Const(Element{Kind: KindNull}),
	)
	return gopter.CombineGens(genTag(parent), value, genWidth).Map(func(v []any) Element {
		e := v[1].(Element)
		e.Tag = v[0].(Tag)
		return withWidth(e, v[2].(int))
	})
}

func genElement(parent Kind, depth int) gopter.Gen {
	if depth == 0 {
		return genScalar(parent)
	}
	container := func(k Kind) gopter.Gen {
		return gopter.CombineGens(genTag(parent), gen.SliceOfN(4, genElement(k, depth-1))).Map(func(v []any) Element {
			elems := v[1].([]Element)
			if elems == nil {
				elems = []Element{}
			}
			return Element{Tag: v[0].(Tag), Kind: k, Elems: elems}
		})
	}
	return gen.Weighted([]gen.WeightedGen{
		{Weight: 3, Gen: genScalar(parent)},
		{Weight: 1, Gen: container(KindStruct)},
		{Weight: 1, Gen: container(KindArray)},
		{Weight: 1, Gen: container(KindList)},
	})
}

func countNonMinimal(e *Element) int {
	n := 0
	if e.Width != 0 {
		n++
	}
	if e.Tag.Form != e.Tag.Minimal().Form {
		n++
	}
	for i := range e.Elems {
		n += countNonMinimal(&e.Elems[i])
	}
	return n
}

func TestTLVProperties(t *testing.T) {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 500
	props := gopter.NewProperties(params)
	elems := genElement(KindInvalid, 3)

	props.Property("encode then decode gives the same element and the same octets", prop.ForAll(
		func(e Element) bool {
			b, err := Encode(e)
			if err != nil {
				t.Log(err)
				return false
			}
			d, err := Decode(b)
			if err != nil {
				t.Log(err)
				return false
			}
			b2, err := Encode(d)
			return err == nil && d.Equal(&e) && reflect.DeepEqual(b, b2)
		}, elems))

	props.Property("the checker finds exactly the non-minimal widths the generator chose", prop.ForAll(
		func(e Element) bool {
			b, _ := Encode(e)
			f, err := Check(b)
			if err != nil {
				return false
			}
			n := 0
			for _, x := range f {
				if x.Rule == RuleNonMinimalInt || x.Rule == RuleNonMinimalLength || x.Rule == RuleNonMinimalTag {
					n++
				}
			}
			return n == countNonMinimal(&e)
		}, elems))

	props.Property("canonical encoding of a canonical element is the writer's", prop.ForAll(
		func(e Element) bool {
			c := e.Canonical()
			b1, err1 := Encode(c)
			b2, err2 := Encode(e)
			d, err3 := Decode(b2)
			if err1 != nil || err2 != nil || err3 != nil {
				return false
			}
			b3, _ := Encode(d.Canonical())
			return reflect.DeepEqual(b1, b3) && countNonMinimal(&c) == 0
		}, elems))

	props.Property("the JSON form reproduces the exact octets", prop.ForAll(
		func(e Element) bool {
			b, _ := Encode(e)
			js, err := json.Marshal(e)
			if err != nil {
				t.Log(err)
				return false
			}
			var back Element
			if err := json.Unmarshal(js, &back); err != nil {
				t.Log(err, string(js))
				return false
			}
			b2, err := Encode(back)
			return err == nil && reflect.DeepEqual(b, b2)
		}, elems))

	props.Property("signed and unsigned widths are minimal", prop.ForAll(
		func(v int64, u uint64) bool {
			wi, wu := IntWidth(v), UintWidth(u)
			fitsI := func(w int) bool {
				if w == 8 {
					return true
				}
				lim := int64(1) << (8*w - 1)
				return v >= -lim && v < lim
			}
			fitsU := func(w int) bool { return w == 8 || u < uint64(1)<<(8*w) }
			return fitsI(wi) && (wi == 1 || !fitsI(wi/2)) && fitsU(wu) && (wu == 1 || !fitsU(wu/2))
		}, gen.Int64(), gen.UInt64()))

	props.TestingRun(t)
}
