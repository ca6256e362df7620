package fuzz

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// mutator damages a valid request's element tree in one way and says how.
type mutator func(g *genCtx, c *commandSpec, e *tlv.Element) string

// mutBoundary sets a field to a boundary value of the constraint table: lengths on both sides of
// every limit, integer extremes and values beyond the type, undefined enum values, lists of
// 0/1/8/9... entries.
func mutBoundary(g *genCtx, c *commandSpec, e *tlv.Element) string {
	f := g.pickField(c)
	tag := tlv.Context(f.tag)
	switch f.kind {
	case kUint:
		v := g.boundaryUint(f)
		setMember(e, tlv.UintElem(tag, v))
		return fmt.Sprintf("%s = %d", f.name, v)
	case kBool:
		v := g.rng.IntN(2) == 0
		setMember(e, tlv.BoolElem(tag, v))
		return fmt.Sprintf("%s = %v", f.name, v)
	case kUTF8:
		n := g.boundaryLen(f)
		setMember(e, tlv.StringElem(tag, g.text(n)))
		return fmt.Sprintf("%s of %d octets", f.name, n)
	case kBytes:
		n := g.boundaryLen(f)
		setMember(e, tlv.BytesElem(tag, g.bytes(n)))
		return fmt.Sprintf("%s of %d octets", f.name, n)
	default: // kEnumList
		n := boundaryCounts[g.rng.IntN(len(boundaryCounts))]
		if g.rng.IntN(2) == 0 {
			n = f.maxLen + g.rng.IntN(3) - 1
		}
		arr := tlv.ArrayElem(tag)
		for i := 0; i < n; i++ {
			arr.Elems = append(arr.Elems, tlv.UintElem(tlv.Anonymous, uint64(g.rng.IntN(f.enumMax+1))))
		}
		note := fmt.Sprintf("%s with %d entries", f.name, n)
		if n > 0 && g.rng.IntN(5) < 2 {
			undefined := []uint64{uint64(f.enumMax + 1), 0x7F, 0xFE, 0xFF, 0x100, 0xFFFF}
			v := undefined[g.rng.IntN(len(undefined))]
			arr.Elems[g.rng.IntN(n)].Uint = v
			note += fmt.Sprintf(", one of them %d", v)
		}
		setMember(e, arr)
		return note
	}
}

// kinds a field can be confused with.
var confusions = []tlv.Kind{tlv.KindInt, tlv.KindUint, tlv.KindBool, tlv.KindFloat32, tlv.KindFloat64,
	tlv.KindUTF8, tlv.KindBytes, tlv.KindNull, tlv.KindStruct, tlv.KindArray, tlv.KindList}

func ownKind(f *fieldSpec) tlv.Kind {
	switch f.kind {
	case kUint:
		return tlv.KindUint
	case kBool:
		return tlv.KindBool
	case kUTF8:
		return tlv.KindUTF8
	case kBytes:
		return tlv.KindBytes
	}
	return tlv.KindArray
}

// mutType gives a field (or the whole fields element) a TLV type other than its own.
func mutType(g *genCtx, c *commandSpec, e *tlv.Element) string {
	if g.rng.IntN(10) == 0 {
		k := confusions[g.rng.IntN(len(confusions))]
		if k == tlv.KindStruct {
			k = tlv.KindList
		}
		members := e.Elems
		*e = g.valueOf(k, tlv.Anonymous)
		if k.IsContainer() && g.rng.IntN(2) == 0 {
			e.Elems = members // the fields in a list or array instead of a structure
			if k == tlv.KindArray {
				for i := range e.Elems {
					e.Elems[i].Tag = tlv.Anonymous
				}
			}
		}
		return "the fields are a " + k.String()
	}
	f := &c.fields[g.rng.IntN(len(c.fields))]
	tag := tlv.Context(f.tag)
	if f.kind == kUTF8 && g.rng.IntN(4) == 0 {
		setMember(e, tlv.Element{Tag: tag, Kind: tlv.KindUTF8, Bytes: []byte{'X', 0xFF}})
		return f.name + " is not valid UTF-8"
	}
	if f.kind == kEnumList && g.rng.IntN(3) == 0 {
		switch g.rng.IntN(4) {
		case 0:
			setMember(e, tlv.ListElem(tag, tlv.UintElem(tlv.Anonymous, 0)))
			return f.name + " is a list, not an array"
		case 1:
			setMember(e, tlv.ArrayElem(tag, tlv.StringElem(tlv.Anonymous, "BDX")))
			return f.name + " holds a string"
		case 2:
			setMember(e, tlv.ArrayElem(tag, tlv.ArrayElem(tlv.Anonymous, tlv.UintElem(tlv.Anonymous, 0))))
			return f.name + " holds an array"
		default:
			setMember(e, tlv.ArrayElem(tag, tlv.IntElem(tlv.Anonymous, -1)))
			return f.name + " holds a signed integer"
		}
	}
	var k tlv.Kind
	for k = confusions[g.rng.IntN(len(confusions))]; k == ownKind(f); k = confusions[g.rng.IntN(len(confusions))] {
	}
	setMember(e, g.valueOf(k, tag))
	return fmt.Sprintf("%s is a %s", f.name, k)
}

// valueOf returns an element of kind k with a value worth sending.
func (g *genCtx) valueOf(k tlv.Kind, tag tlv.Tag) tlv.Element {
	switch k {
	case tlv.KindInt:
		vals := []int64{-1, 0, 1, math.MinInt8, math.MaxInt16, math.MinInt32, math.MaxInt64, math.MinInt64}
		return tlv.IntElem(tag, vals[g.rng.IntN(len(vals))])
	case tlv.KindUint:
		vals := []uint64{0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, math.MaxUint64}
		return tlv.UintElem(tag, vals[g.rng.IntN(len(vals))])
	case tlv.KindBool:
		return tlv.BoolElem(tag, g.rng.IntN(2) == 0)
	case tlv.KindFloat32:
		vals := []float32{0, -1.5, float32(math.Inf(1)), float32(math.NaN())}
		return tlv.Float32Elem(tag, vals[g.rng.IntN(len(vals))])
	case tlv.KindFloat64:
		vals := []float64{0, 2, math.Inf(-1), math.NaN()}
		return tlv.Float64Elem(tag, vals[g.rng.IntN(len(vals))])
	case tlv.KindUTF8:
		var s string
		g.gf.Fuzz(&s)
		return tlv.StringElem(tag, s)
	case tlv.KindBytes:
		return tlv.BytesElem(tag, g.bytes(g.rng.IntN(40)))
	case tlv.KindNull:
		return tlv.NullElem(tag)
	case tlv.KindStruct:
		return tlv.StructElem(tag, tlv.UintElem(tlv.Context(0), 1))
	case tlv.KindArray:
		return tlv.ArrayElem(tag, tlv.UintElem(tlv.Anonymous, 0))
	default:
		return tlv.ListElem(tag, tlv.UintElem(tlv.Context(0), 1))
	}
}

// mutTags removes, duplicates, adds, renames or reorders members.
func mutTags(g *genCtx, c *commandSpec, e *tlv.Element) string {
	if len(e.Elems) == 0 {
		setMember(e, g.valueOf(tlv.KindUint, tlv.Context(8)))
		return "unknown context tag 8 in an empty structure"
	}
	name := func(t tlv.Tag) string {
		if f := c.field(t.Number); f != nil && t.IsContext() {
			return f.name
		}
		return "tag " + t.String()
	}
	i := g.rng.IntN(len(e.Elems))
	switch g.rng.IntN(8) {
	case 0, 1: // missing: mostly a mandatory field
		for j := range e.Elems {
			if f := c.field(e.Elems[j].Tag.Number); f != nil && f.mandatory && g.rng.IntN(2) == 0 {
				i = j
				break
			}
		}
		n := name(e.Elems[i].Tag)
		removeMember(e, i)
		return "missing " + n
	case 2: // duplicate, with the same or another value
		dup := e.Elems[i]
		note := "duplicate " + name(dup.Tag)
		if g.rng.IntN(2) == 0 {
			if f := c.field(dup.Tag.Number); f != nil {
				var probe tlv.Element = tlv.StructElem(tlv.Anonymous)
				mutBoundaryField(g, f, &probe)
				dup = probe.Elems[0]
				note += " with another value"
			}
		}
		at := i + 1
		if g.rng.IntN(2) == 0 {
			at = len(e.Elems)
		}
		e.Elems = append(e.Elems[:at:at], append([]tlv.Element{dup}, e.Elems[at:]...)...)
		return note
	case 3: // unknown context tag: to be skipped (§8.9 forward compatibility)
		tags := []uint8{8, 9, 0x7F, 0x80, 0xFE, 0xFF, uint8(8 + g.rng.IntN(248))}
		t := tlv.Context(tags[g.rng.IntN(len(tags))])
		setMember(e, g.valueOf(confusions[g.rng.IntN(len(confusions))], t))
		return "unknown " + t.String()
	case 4: // a profile tag with a field's number: not a context tag, so the field is missing
		n := uint32(e.Elems[i].Tag.Number)
		var t tlv.Tag
		switch g.rng.IntN(3) {
		case 0:
			t = tlv.CommonProfile(n)
		case 1:
			t = tlv.ImplicitProfile(n)
		default:
			t = tlv.FullyQualified(0xFFF1, 0xDEED, n)
		}
		note := fmt.Sprintf("%s tagged %s", name(e.Elems[i].Tag), t)
		e.Elems[i].Tag = t
		return note
	case 5: // anonymous member: malformed TLV (Appendix A.11.2)
		m := e.Elems[i]
		m.Tag = tlv.Anonymous
		e.Elems = append(e.Elems, m)
		return "anonymous copy of " + name(e.Elems[i].Tag)
	case 6: // renamed: another field's tag
		n := name(e.Elems[i].Tag)
		e.Elems[i].Tag = tlv.Context(c.fields[g.rng.IntN(len(c.fields))].tag)
		return fmt.Sprintf("%s retagged %s", n, e.Elems[i].Tag)
	default: // reordered: still valid, members may come in any order
		g.rng.Shuffle(len(e.Elems), func(a, b int) { e.Elems[a], e.Elems[b] = e.Elems[b], e.Elems[a] })
		return "members shuffled"
	}
}

// mutBoundaryField sets field f of e to a boundary value.
func mutBoundaryField(g *genCtx, f *fieldSpec, e *tlv.Element) {
	one := commandSpec{fields: []fieldSpec{*f}}
	mutBoundary(g, &one, e)
}

// mutWidth re-encodes integers and string lengths wider than needed: non-canonical but valid
// TLV (Appendix A.7.1) that a provider must accept.
func mutWidth(g *genCtx, _ *commandSpec, e *tlv.Element) string {
	var all []*tlv.Element
	var walk func(x *tlv.Element)
	walk = func(x *tlv.Element) {
		switch x.Kind {
		case tlv.KindInt, tlv.KindUint, tlv.KindUTF8, tlv.KindBytes:
			all = append(all, x)
		}
		for i := range x.Elems {
			walk(&x.Elems[i])
		}
	}
	walk(e)
	if len(all) == 0 {
		return "no integer or string to widen"
	}
	every := g.rng.IntN(4) == 0
	n := 0
	for _, x := range all {
		if !every && g.rng.IntN(len(all)) != 0 && n > 0 {
			continue
		}
		minimal := tlv.UintWidth(x.Uint)
		switch x.Kind {
		case tlv.KindInt:
			minimal = tlv.IntWidth(x.Int)
		case tlv.KindUTF8, tlv.KindBytes:
			minimal = tlv.UintWidth(uint64(len(x.Bytes)))
		}
		var wider []int
		for _, w := range []int{2, 4, 8} {
			if w > minimal {
				wider = append(wider, w)
			}
		}
		if len(wider) > 0 {
			x.Width = wider[g.rng.IntN(len(wider))]
			n++
		}
	}
	return fmt.Sprintf("%d of %d integers and lengths widened", n, len(all))
}

// interesting octets for byte-level mutation: end of container, container starts, string types.
var interesting = []byte{0x00, 0x01, 0x7F, 0x80, 0xFF, 0x18, 0x15, 0x16, 0x17, 0x0C, 0x10, 0x14, 0x24, 0x35}

// mutateBytes applies n byte-level mutations to a copy of b.
func (g *genCtx) mutateBytes(b []byte, n int) ([]byte, string) {
	out := append([]byte(nil), b...)
	ops := make([]string, 0, n)
	for k := 0; k < n; k++ {
		if len(out) == 0 {
			out = append(out, interesting[g.rng.IntN(len(interesting))])
			ops = append(ops, "insert 1")
			continue
		}
		i := g.rng.IntN(len(out))
		switch g.rng.IntN(8) {
		case 0:
			out[i] ^= 1 << g.rng.IntN(8)
			ops = append(ops, fmt.Sprintf("flip @%d", i))
		case 1:
			out[i] = interesting[g.rng.IntN(len(interesting))]
			ops = append(ops, fmt.Sprintf("set @%d=%02X", i, out[i]))
		case 2:
			out[i] = byte(g.rng.IntN(256))
			ops = append(ops, fmt.Sprintf("set @%d=%02X", i, out[i]))
		case 3:
			v := byte(g.rng.IntN(256))
			out = append(out[:i:i], append([]byte{v}, out[i:]...)...)
			ops = append(ops, fmt.Sprintf("insert @%d", i))
		case 4:
			m := 1 + g.rng.IntN(min(4, len(out)-i))
			out = append(out[:i:i], out[i+m:]...)
			ops = append(ops, fmt.Sprintf("delete %d @%d", m, i))
		case 5:
			m := 1 + g.rng.IntN(min(8, len(out)-i))
			if len(out)+m <= maxFields {
				chunk := append([]byte(nil), out[i:i+m]...)
				out = append(out[:i+m:i+m], append(chunk, out[i+m:]...)...)
				ops = append(ops, fmt.Sprintf("repeat %d @%d", m, i))
			}
		case 6:
			j := g.rng.IntN(len(out))
			out[i], out[j] = out[j], out[i]
			ops = append(ops, fmt.Sprintf("swap @%d @%d", i, j))
		default:
			out[i] = out[i]&0xE0 | byte(g.rng.IntN(32)) // same tag form, another element type
			ops = append(ops, fmt.Sprintf("type @%d=%02X", i, out[i]))
		}
	}
	return out, fmt.Sprintf("bytes %v", ops)
}

// genOversize sends payloads far beyond the limits (at most 64 KiB of fields): long strings,
// long lists, many members, deep nesting, lengths that claim more than there is.
func genOversize(g *genCtx) []Step {
	sizes := []int{513, 1024, 4096, 16384, 60000}
	n := sizes[g.rng.IntN(len(sizes))]
	switch g.rng.IntN(7) {
	case 0:
		e := tree(g.validQuery())
		setMember(&e, tlv.BytesElem(tlv.Context(7), g.bytes(n)))
		return []Step{g.step(ota.CmdQueryImage, g.encode(&e), fmt.Sprintf("MetadataForProvider of %d octets", n))}
	case 1:
		e := tree(g.validQuery())
		setMember(&e, tlv.StringElem(tlv.Context(5), g.text(n)))
		return []Step{g.step(ota.CmdQueryImage, g.encode(&e), fmt.Sprintf("Location of %d octets", n))}
	case 2:
		c, e := &applySpec, tree(g.validApply())
		if g.rng.IntN(2) == 0 {
			c, e = &notifySpec, tree(g.validNotify())
		}
		setMember(&e, tlv.BytesElem(tlv.Context(0), g.bytes(n)))
		return []Step{g.step(c.id, g.encode(&e), fmt.Sprintf("UpdateToken of %d octets", n))}
	case 3: // written by the typed encoder, which does not check the count
		count := []int{64, 255, 1000, 20000}[g.rng.IntN(4)]
		q := g.validQuery()
		q.ProtocolsSupported = make([]ota.DownloadProtocol, count)
		for i := range q.ProtocolsSupported {
			q.ProtocolsSupported[i] = ota.DownloadProtocol(i % 4)
		}
		b, err := ota.Encode(q)
		if err != nil {
			b = []byte{0x15, 0x18}
		}
		return []Step{g.step(ota.CmdQueryImage, b, fmt.Sprintf("ProtocolsSupported with %d entries", count))}
	case 4:
		count := []int{100, 1000, 10000}[g.rng.IntN(3)]
		e := tree(g.validQuery())
		b := g.encode(&e)
		w := tlv.NewWriter(b[:len(b)-1]) // members appended to the reopened structure
		for i := 0; i < count; i++ {
			w.Uint(tlv.Context(uint8(8+i%248)), uint64(i))
		}
		w.Raw([]byte{0x18})
		if b, err := w.Finish(); err == nil {
			return []Step{g.step(ota.CmdQueryImage, b, fmt.Sprintf("%d unknown members", count))}
		}
		return []Step{g.step(ota.CmdQueryImage, g.encode(&e), "unknown members (not written)")}
	case 5: // nesting at and beyond the TLV reader's limit (tlv.MaxDepth), inside an unknown tag
		depth := []int{tlv.MaxDepth - 1, tlv.MaxDepth, tlv.MaxDepth + 1, 100, 10000}[g.rng.IntN(5)]
		e := tree(g.validQuery())
		b := g.encode(&e)
		b = b[:len(b)-1]          // reopen the structure
		b = append(b, 0x36, 0x08) // context tag 8: array
		for i := 1; i < depth; i++ {
			b = append(b, 0x16)
		}
		for i := 0; i < depth; i++ {
			b = append(b, 0x18)
		}
		b = append(b, 0x18)
		return []Step{g.step(ota.CmdQueryImage, b, fmt.Sprintf("arrays nested %d deep under an unknown tag", depth))}
	default: // a length field claiming more octets than follow
		e := tree(g.validQuery())
		b := g.encode(&e)
		b = b[:len(b)-1]
		claim := []struct {
			ctl byte
			len []byte
		}{
			{0x32, binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF)},          // octet string, 4-octet length
			{0x33, binary.LittleEndian.AppendUint64(nil, math.MaxUint64)},      // octet string, 8-octet length
			{0x33, binary.LittleEndian.AppendUint64(nil, 1<<63)},               // beyond int64
			{0x2E, binary.LittleEndian.AppendUint32(nil, uint32(maxFields+1))}, // UTF-8, 4-octet length
		}[g.rng.IntN(4)]
		b = append(b, claim.ctl, 0x07)
		b = append(b, claim.len...)
		b = append(b, 'X', 'X', 0x18)
		return []Step{g.step(ota.CmdQueryImage, b, fmt.Sprintf("MetadataForProvider whose length field claims %X", claim.len))}
	}
}

// ---- encoding

// encodeLoose encodes a tree the tlv.Writer would refuse: invalid UTF-8 in a UTF-8 string, an
// anonymous member of a structure, a tagged member of an array. Each such element is encoded on
// its own and appended raw.
func encodeLoose(e *tlv.Element) ([]byte, error) {
	w := tlv.NewWriter(make([]byte, 0, 64))
	writeLoose(w, e, tlv.KindInvalid)
	return w.Finish()
}

func writeLoose(w *tlv.Writer, e *tlv.Element, parent tlv.Kind) {
	if (parent == tlv.KindStruct && e.Tag.IsAnonymous()) || (parent == tlv.KindArray && !e.Tag.IsAnonymous()) {
		sub := tlv.NewWriter(nil)
		writeLoose(sub, e, tlv.KindInvalid)
		if b, err := sub.Finish(); err == nil {
			w.Raw(b)
		}
		return
	}
	switch e.Kind {
	case tlv.KindUTF8:
		if !utf8.Valid(e.Bytes) {
			start := w.Len()
			width := e.Width
			if width == 0 {
				width = tlv.UintWidth(uint64(len(e.Bytes)))
			}
			w.OctetStringWithWidth(e.Tag, e.Bytes, width)
			if w.Err() == nil {
				w.Bytes()[start] -= byte(tlv.TypeBytesLen1 - tlv.TypeUTF8Len1) // same width, UTF-8 type
			}
			return
		}
	case tlv.KindStruct, tlv.KindArray, tlv.KindList:
		switch e.Kind {
		case tlv.KindStruct:
			w.StartStruct(e.Tag)
		case tlv.KindArray:
			w.StartArray(e.Tag)
		default:
			w.StartList(e.Tag)
		}
		for i := range e.Elems {
			writeLoose(w, &e.Elems[i], e.Kind)
		}
		w.End()
		return
	}
	e.WriteTo(w)
}
