package tlv

import (
	"fmt"
	"strconv"
)

// ElementType is the low five bits of a control octet (Appendix A.7.1).
type ElementType uint8

// Element types. Integers and string lengths come in 1, 2, 4 and 8 octet widths.
const (
	TypeInt8           ElementType = 0x00
	TypeInt16          ElementType = 0x01
	TypeInt32          ElementType = 0x02
	TypeInt64          ElementType = 0x03
	TypeUint8          ElementType = 0x04
	TypeUint16         ElementType = 0x05
	TypeUint32         ElementType = 0x06
	TypeUint64         ElementType = 0x07
	TypeFalse          ElementType = 0x08
	TypeTrue           ElementType = 0x09
	TypeFloat32        ElementType = 0x0A
	TypeFloat64        ElementType = 0x0B
	TypeUTF8Len1       ElementType = 0x0C
	TypeUTF8Len2       ElementType = 0x0D
	TypeUTF8Len4       ElementType = 0x0E
	TypeUTF8Len8       ElementType = 0x0F
	TypeBytesLen1      ElementType = 0x10
	TypeBytesLen2      ElementType = 0x11
	TypeBytesLen4      ElementType = 0x12
	TypeBytesLen8      ElementType = 0x13
	TypeNull           ElementType = 0x14
	TypeStructure      ElementType = 0x15
	TypeArray          ElementType = 0x16
	TypeList           ElementType = 0x17
	TypeEndOfContainer ElementType = 0x18
	// 0x19..0x1F are reserved.
)

// Kind is what an element holds, independent of its encoded width.
type Kind uint8

// Element kinds.
const (
	KindInvalid Kind = iota
	KindInt
	KindUint
	KindBool
	KindFloat32
	KindFloat64
	KindUTF8
	KindBytes
	KindNull
	KindStruct
	KindArray
	KindList
	KindEnd
)

var kindNames = [...]string{"invalid", "int", "uint", "bool", "float32", "float64", "utf8", "bytes", "null", "struct", "array", "list", "end"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsContainer reports whether k is a structure, array or list.
func (k Kind) IsContainer() bool { return k == KindStruct || k == KindArray || k == KindList }

// Kind returns what t holds, or KindInvalid for a reserved type.
func (t ElementType) Kind() Kind {
	if t > 0x1F {
		return KindInvalid
	}
	return kinds[t]
}

// Width is the octet width of an integer value or of a string's length field; 4 or 8 for floats; 0
// for types without one.
func (t ElementType) Width() int {
	if t > 0x1F {
		return 0
	}
	return int(widths[t])
}

// kinds and widths are indexed by element type: the reader consults them for every element.
var kinds, widths = func() (k [32]Kind, w [32]uint8) {
	for t := ElementType(0); t < 32; t++ {
		switch {
		case t <= TypeInt64:
			k[t], w[t] = KindInt, 1<<(t&3)
		case t <= TypeUint64:
			k[t], w[t] = KindUint, 1<<(t&3)
		case t <= TypeTrue:
			k[t] = KindBool
		case t == TypeFloat32:
			k[t], w[t] = KindFloat32, 4
		case t == TypeFloat64:
			k[t], w[t] = KindFloat64, 8
		case t <= TypeUTF8Len8:
			k[t], w[t] = KindUTF8, 1<<(t&3)
		case t <= TypeBytesLen8:
			k[t], w[t] = KindBytes, 1<<(t&3)
		case t == TypeNull:
			k[t] = KindNull
		case t == TypeStructure:
			k[t] = KindStruct
		case t == TypeArray:
			k[t] = KindArray
		case t == TypeList:
			k[t] = KindList
		case t == TypeEndOfContainer:
			k[t] = KindEnd
		}
	}
	return k, w
}()

func (t ElementType) String() string {
	switch k := t.Kind(); k {
	case KindInvalid:
		return fmt.Sprintf("reserved(0x%02X)", uint8(t))
	case KindInt, KindUint:
		return fmt.Sprintf("%s%d", k, 8*t.Width())
	case KindUTF8, KindBytes:
		return fmt.Sprintf("%s/len%d", k, t.Width())
	case KindBool:
		if t == TypeTrue {
			return "true"
		}
		return "false"
	default:
		return k.String()
	}
}

// TagForm is the tag-control field (the top three bits of a control octet, Appendix A.7.2).
type TagForm uint8

// Tag forms, in control-octet order.
const (
	FormAnonymous        TagForm = 0 // no tag octets
	FormContext          TagForm = 1 // 1 octet
	FormCommonProfile2   TagForm = 2 // 2 octets, Matter common profile
	FormCommonProfile4   TagForm = 3 // 4 octets, Matter common profile
	FormImplicitProfile2 TagForm = 4 // 2 octets, profile given by context
	FormImplicitProfile4 TagForm = 5 // 4 octets
	FormFullyQualified6  TagForm = 6 // vendor u16, profile u16, tag u16
	FormFullyQualified8  TagForm = 7 // vendor u16, profile u16, tag u32
)

// tagLen is the number of tag octets after the control octet for each form.
var tagLen = [8]int{0, 1, 2, 4, 2, 4, 6, 8}

// Tag is an element tag. The zero value is the anonymous tag. Form fixes the encoded width, so a
// decoded tag re-encodes to the same octets; the constructors pick the smallest form.
type Tag struct {
	Form    TagForm
	Vendor  uint16 // fully-qualified forms only
	Profile uint16 // fully-qualified forms only
	Number  uint32
}

// Anonymous is the anonymous tag.
var Anonymous = Tag{}

// Context returns the context-specific tag n.
func Context(n uint8) Tag { return Tag{Form: FormContext, Number: uint32(n)} }

// CommonProfile returns the Matter common-profile tag n in its smallest form.
func CommonProfile(n uint32) Tag {
	if n <= 0xFFFF {
		return Tag{Form: FormCommonProfile2, Number: n}
	}
	return Tag{Form: FormCommonProfile4, Number: n}
}

// ImplicitProfile returns the implicit-profile tag n in its smallest form.
func ImplicitProfile(n uint32) Tag {
	if n <= 0xFFFF {
		return Tag{Form: FormImplicitProfile2, Number: n}
	}
	return Tag{Form: FormImplicitProfile4, Number: n}
}

// FullyQualified returns the fully-qualified tag vendor::profile:n in its smallest form.
func FullyQualified(vendor, profile uint16, n uint32) Tag {
	f := FormFullyQualified6
	if n > 0xFFFF {
		f = FormFullyQualified8
	}
	return Tag{Form: f, Vendor: vendor, Profile: profile, Number: n}
}

// IsAnonymous reports whether t is the anonymous tag.
func (t Tag) IsAnonymous() bool { return t.Form == FormAnonymous }

// IsContext reports whether t is a context-specific tag.
func (t Tag) IsContext() bool { return t.Form == FormContext }

// Minimal returns t in the smallest form that names the same tag.
func (t Tag) Minimal() Tag {
	switch t.Form {
	case FormCommonProfile2, FormCommonProfile4:
		return CommonProfile(t.Number)
	case FormImplicitProfile2, FormImplicitProfile4:
		return ImplicitProfile(t.Number)
	case FormFullyQualified6, FormFullyQualified8:
		return FullyQualified(t.Vendor, t.Profile, t.Number)
	}
	return t
}

// Same reports whether t and u name the same tag, whatever their encoded widths.
func (t Tag) Same(u Tag) bool { return t.Minimal() == u.Minimal() }

// String writes the tag in the spec's notation: "1" (context), "Matter::1" (common profile),
// "Implicit::1", "65521::57069:1" (fully qualified) and "" for anonymous.
func (t Tag) String() string {
	switch t.Form {
	case FormAnonymous:
		return ""
	case FormContext:
		return strconv.FormatUint(uint64(t.Number), 10)
	case FormCommonProfile2, FormCommonProfile4:
		return "Matter::" + strconv.FormatUint(uint64(t.Number), 10)
	case FormImplicitProfile2, FormImplicitProfile4:
		return "Implicit::" + strconv.FormatUint(uint64(t.Number), 10)
	default:
		return fmt.Sprintf("%d::%d:%d", t.Vendor, t.Profile, t.Number)
	}
}
