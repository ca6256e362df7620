package tlv

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
)

// String returns e in the spec's one-line notation: `{0 = 42, 1 = -17}`, `[1, 2]` for arrays,
// `[[1, 0 = 42]]` for lists, `42U` for unsigned integers, `"text"`, `hex:0001` for octet strings.
func (e Element) String() string {
	var sb strings.Builder
	e.write(&sb, -1)
	return sb.String()
}

// Pretty returns e in the spec's notation over several lines, two spaces per level; containers
// whose one-line form is short stay on one line.
func (e Element) Pretty() string {
	var sb strings.Builder
	e.write(&sb, 0)
	return sb.String()
}

const prettyWidth = 72

// write appends e. indent < 0 means one line; otherwise the current nesting level.
func (e *Element) write(sb *strings.Builder, indent int) {
	if !e.Tag.IsAnonymous() {
		sb.WriteString(e.Tag.String())
		sb.WriteString(" = ")
	}
	e.writeValue(sb, indent)
}

func (e *Element) writeValue(sb *strings.Builder, indent int) {
	switch e.Kind {
	case KindInt:
		sb.WriteString(strconv.FormatInt(e.Int, 10))
	case KindUint:
		sb.WriteString(strconv.FormatUint(e.Uint, 10))
		sb.WriteByte('U')
	case KindBool:
		sb.WriteString(strconv.FormatBool(e.Bool))
	case KindFloat32:
		sb.WriteString(formatFloat(e.Float, 32))
	case KindFloat64:
		sb.WriteString(formatFloat(e.Float, 64))
	case KindUTF8:
		sb.WriteString(strconv.Quote(string(e.Bytes)))
	case KindBytes:
		sb.WriteString("hex:")
		sb.WriteString(strings.ToUpper(hex.EncodeToString(e.Bytes)))
	case KindNull:
		sb.WriteString("null")
	case KindStruct, KindArray, KindList:
		open, close := "{", "}"
		switch e.Kind {
		case KindArray:
			open, close = "[", "]"
		case KindList:
			open, close = "[[", "]]"
		}
		if len(e.Elems) == 0 {
			sb.WriteString(open + close)
			return
		}
		if indent >= 0 {
			var one strings.Builder
			e.writeValue(&one, -1)
			if one.Len()+2*indent <= prettyWidth {
				sb.WriteString(one.String())
				return
			}
		}
		sb.WriteString(open)
		for i := range e.Elems {
			if indent >= 0 {
				sb.WriteByte('\n')
				sb.WriteString(strings.Repeat("  ", indent+1))
				e.Elems[i].write(sb, indent+1)
				sb.WriteByte(',')
			} else {
				if i > 0 {
					sb.WriteString(", ")
				}
				e.Elems[i].write(sb, -1)
			}
		}
		if indent >= 0 {
			sb.WriteByte('\n')
			sb.WriteString(strings.Repeat("  ", indent))
		}
		sb.WriteString(close)
	default:
		sb.WriteString("<" + e.Kind.String() + ">")
	}
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsInf(f, 1):
		return "Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0" // keep floats recognisable: 0.0, not 0
	}
	return s
}
