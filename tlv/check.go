package tlv

import (
	"fmt"
	"io"
)

// Finding is something a strict checker reports at SHOULD level: the input decodes, but an encoder
// following Appendix A would not have produced it.
type Finding struct {
	Offset int    // control octet of the element concerned
	Path   string // element path, as Reader.Path
	Rule   string // one of the Rule* constants
	Detail string
}

// Rules a Finding can name.
const (
	RuleDuplicateTag     = "duplicate-tag"      // the same tag twice in one structure (A.11.2)
	RuleTagOrder         = "context-tag-order"  // context tags of a structure not in ascending order
	RuleNonMinimalInt    = "non-minimal-int"    // an integer wider than its value needs (A.7.1)
	RuleNonMinimalLength = "non-minimal-length" // a string length field wider than needed
	RuleNonMinimalTag    = "non-minimal-tag"    // a 4-octet profile tag number below 65536
)

func (f Finding) String() string {
	return fmt.Sprintf("byte %d (%s): %s: %s", f.Offset, f.Path, f.Rule, f.Detail)
}

// Check decodes all of b strictly and returns the SHOULD-level findings. A decode failure is returned
// as the error (with the findings up to that point).
func Check(b []byte) ([]Finding, error) {
	r := NewReader(b)
	var out []Finding
	err := checkLevel(r, &out)
	return out, err
}

func checkLevel(r *Reader, out *[]Finding) error {
	inStruct := r.ContainerKind() == KindStruct
	var seen []Tag
	lastCtx := -1
	for {
		err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		add := func(rule, detail string) {
			*out = append(*out, Finding{Offset: r.Offset(), Path: r.Path(), Rule: rule, Detail: detail})
		}
		t, tag := r.Type(), r.Tag()
		if tag.Form != tag.Minimal().Form {
			add(RuleNonMinimalTag, fmt.Sprintf("tag number %d in a %d-octet form", tag.Number, tagLen[tag.Form]))
		}
		if inStruct {
			for _, s := range seen {
				if s.Same(tag) {
					add(RuleDuplicateTag, "tag "+tag.String()+" appears again")
					break
				}
			}
			seen = append(seen, tag)
			if tag.IsContext() {
				if int(tag.Number) < lastCtx {
					add(RuleTagOrder, fmt.Sprintf("context tag %d after %d", tag.Number, lastCtx))
				}
				lastCtx = int(tag.Number)
			}
		}
		switch k := t.Kind(); k {
		case KindInt:
			v, _ := r.Int()
			if w := IntWidth(v); w < t.Width() {
				add(RuleNonMinimalInt, fmt.Sprintf("%d in %d octets, %d suffice", v, t.Width(), w))
			}
		case KindUint:
			v, _ := r.Uint()
			if w := UintWidth(v); w < t.Width() {
				add(RuleNonMinimalInt, fmt.Sprintf("%dU in %d octets, %d suffice", v, t.Width(), w))
			}
		case KindUTF8, KindBytes:
			if w := UintWidth(uint64(r.Len())); w < t.Width() {
				add(RuleNonMinimalLength, fmt.Sprintf("length %d in a %d-octet field, %d suffice", r.Len(), t.Width(), w))
			}
		case KindStruct, KindArray, KindList:
			if err := r.EnterContainer(); err != nil {
				return err
			}
			if err := checkLevel(r, out); err != nil {
				return err
			}
			if err := r.ExitContainer(); err != nil {
				return err
			}
		}
	}
}
