package tlv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The JSON form of an element, used by `otaconf tlv decode --json` and read back by `tlv encode`:
//
//	{"tag": "1", "type": "uint", "value": 42}
//
// tag is the notation of Tag.String ("" or absent for anonymous, "1", "Matter::1", "Implicit::1",
// "65521::57069:1"); type is a Kind name; value is a JSON number for integers (exact, any size), a
// number or "Inf"/"-Inf"/"NaN" for floats, a string for UTF-8, hex for octet strings, absent for
// null, and an array of elements for containers. "width" (integer or length width) and "tag_form"
// appear only where the encoding was not the smallest, and "bits" for NaN payloads, so that the JSON
// form reproduces the exact input.
type jsonElement struct {
	Tag     string          `json:"tag,omitempty"`
	TagForm *int            `json:"tag_form,omitempty"`
	Type    string          `json:"type"`
	Value   json.RawMessage `json:"value,omitempty"`
	Width   int             `json:"width,omitempty"`
	Bits    string          `json:"bits,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (e Element) MarshalJSON() ([]byte, error) {
	j := jsonElement{Tag: e.Tag.String(), Type: e.Kind.String(), Width: e.Width}
	if e.Tag.Form != e.Tag.Minimal().Form {
		f := int(e.Tag.Form)
		j.TagForm = &f
	}
	var v any
	switch e.Kind {
	case KindInt:
		v = json.Number(strconv.FormatInt(e.Int, 10))
	case KindUint:
		v = json.Number(strconv.FormatUint(e.Uint, 10))
	case KindBool:
		v = e.Bool
	case KindFloat32, KindFloat64:
		bits := 64
		if e.Kind == KindFloat32 {
			bits = 32
		}
		switch {
		case math.IsNaN(e.Float):
			v = "NaN"
			if e.Uint != 0 {
				j.Bits = fmt.Sprintf("0x%X", e.Uint)
			}
		case math.IsInf(e.Float, 0):
			v = formatFloat(e.Float, bits)
		default:
			v = json.Number(strconv.FormatFloat(e.Float, 'g', -1, bits))
		}
	case KindUTF8:
		v = string(e.Bytes)
	case KindBytes:
		v = hex.EncodeToString(e.Bytes)
	case KindNull:
	case KindStruct, KindArray, KindList:
		elems := e.Elems
		if elems == nil {
			elems = []Element{}
		}
		v = elems
	default:
		return nil, fmt.Errorf("tlv: cannot marshal element of kind %s", e.Kind)
	}
	if v != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		j.Value = bytes.TrimRight(buf.Bytes(), "\n")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON implements json.Unmarshaler. Errors name the offending field.
func (e *Element) UnmarshalJSON(b []byte) error {
	var j jsonElement
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("tlv element: %w", err)
	}
	tag, err := ParseTag(j.Tag)
	if err != nil {
		return err
	}
	if j.TagForm != nil {
		if *j.TagForm < 0 || *j.TagForm > int(FormFullyQualified8) {
			return fmt.Errorf("tlv element %q: tag_form %d out of range", j.Tag, *j.TagForm)
		}
		tag.Form = TagForm(*j.TagForm)
	}
	*e = Element{Tag: tag, Width: j.Width}
	switch j.Width {
	case 0, 1, 2, 4, 8:
	default:
		return fmt.Errorf("tlv element %q: width %d is not 1, 2, 4 or 8", j.Tag, j.Width)
	}
	where := func(err error) error { return fmt.Errorf("tlv element %q (%s): %w", j.Tag, j.Type, err) }
	val := j.Value
	need := func() error {
		if len(val) == 0 {
			return where(fmt.Errorf("missing value"))
		}
		return nil
	}
	switch j.Type {
	case "int":
		e.Kind = KindInt
		if err := need(); err != nil {
			return err
		}
		e.Int, err = strconv.ParseInt(string(val), 10, 64)
	case "uint":
		e.Kind = KindUint
		if err := need(); err != nil {
			return err
		}
		e.Uint, err = strconv.ParseUint(string(val), 10, 64)
	case "bool":
		e.Kind = KindBool
		if err := need(); err != nil {
			return err
		}
		err = json.Unmarshal(val, &e.Bool)
	case "float32", "float64":
		e.Kind, e.Width = KindFloat64, 0
		bits := 64
		if j.Type == "float32" {
			e.Kind, bits = KindFloat32, 32
		}
		if err := need(); err != nil {
			return err
		}
		var s string
		if json.Unmarshal(val, &s) == nil {
			switch s {
			case "Inf", "+Inf":
				e.Float = math.Inf(1)
			case "-Inf":
				e.Float = math.Inf(-1)
			case "NaN":
				e.Float = math.NaN()
				if j.Bits != "" {
					e.Uint, err = strconv.ParseUint(strings.TrimPrefix(j.Bits, "0x"), 16, 64)
				}
			default:
				err = fmt.Errorf("float value %q is not a number, Inf, -Inf or NaN", s)
			}
		} else {
			e.Float, err = strconv.ParseFloat(string(val), bits)
		}
	case "utf8":
		e.Kind = KindUTF8
		if err := need(); err != nil {
			return err
		}
		var s string
		err = json.Unmarshal(val, &s)
		e.Bytes = []byte(s)
	case "bytes":
		e.Kind = KindBytes
		if err := need(); err != nil {
			return err
		}
		var s string
		if err = json.Unmarshal(val, &s); err == nil {
			e.Bytes, err = hex.DecodeString(s)
		}
	case "null":
		e.Kind = KindNull
	case "struct", "array", "list":
		e.Kind = map[string]Kind{"struct": KindStruct, "array": KindArray, "list": KindList}[j.Type]
		e.Elems = []Element{}
		if len(val) > 0 {
			err = json.Unmarshal(val, &e.Elems)
		}
	default:
		return fmt.Errorf("tlv element %q: unknown type %q (want int, uint, bool, float32, float64, utf8, bytes, null, struct, array or list)", j.Tag, j.Type)
	}
	if err != nil {
		return where(err)
	}
	return nil
}

// ParseTag parses the notation of Tag.String into the tag's smallest form.
func ParseTag(s string) (Tag, error) {
	bad := func(why string) (Tag, error) { return Tag{}, fmt.Errorf("tlv tag %q: %s", s, why) }
	switch {
	case s == "":
		return Anonymous, nil
	case strings.HasPrefix(s, "Matter::"), strings.HasPrefix(s, "Implicit::"):
		i := strings.Index(s, "::")
		n, err := strconv.ParseUint(s[i+2:], 10, 32)
		if err != nil {
			return bad("tag number is not a 32-bit unsigned integer")
		}
		if s[0] == 'M' {
			return CommonProfile(uint32(n)), nil
		}
		return ImplicitProfile(uint32(n)), nil
	case strings.Contains(s, "::"):
		vendor, rest, _ := strings.Cut(s, "::")
		profile, num, ok := strings.Cut(rest, ":")
		if !ok {
			return bad("fully-qualified tags are vendor::profile:number")
		}
		v, err1 := strconv.ParseUint(vendor, 10, 16)
		p, err2 := strconv.ParseUint(profile, 10, 16)
		n, err3 := strconv.ParseUint(num, 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return bad("vendor and profile must be 16-bit and the number 32-bit unsigned integers")
		}
		return FullyQualified(uint16(v), uint16(p), uint32(n)), nil
	default:
		n, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return bad("context tags are 0..255")
		}
		return Context(uint8(n)), nil
	}
}
