package pics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Set is an effective PICS declaration: codes that are true or false, plus PIXIT values. Codes and
// PIXIT names compare ignoring case (pics.md §1c rule 4); an unlisted code is false. The zero Set is
// empty and ready to use.
type Set struct {
	codes map[string]entry      // key: upper-cased code
	pixit map[string]pixitEntry // key: upper-cased name
}

type entry struct {
	value bool
	code  string // spelling of the definition that won
	file  string // where that definition is, for warnings
	line  int
}

type pixitEntry struct {
	value, name, from string
}

// Get reports whether code is declared true. Missing codes are false (pics.md §1a).
func (s Set) Get(code string) bool {
	return s.codes[strings.ToUpper(strings.TrimSpace(code))].value
}

// Map returns the codes with upper-cased keys, in the form harness.Options.PICS takes. The map is a
// copy.
func (s Set) Map() map[string]bool {
	out := make(map[string]bool, len(s.codes))
	for k, e := range s.codes {
		out[k] = e.value
	}
	return out
}

// PIXIT returns the value of a PIXIT item (from a pixitItem of a PICS XML file, or a PIXIT.* line of
// a text file). Placeholders that mean "not supplied" ("n/a", "0x00", empty) are never stored.
func (s Set) PIXIT(name string) (string, bool) {
	e, ok := s.pixit[strings.ToUpper(strings.TrimSpace(name))]
	return e.value, ok
}

// CaseMismatches returns a warning for each of codes (the ones the selected cases use, say) that the
// set declares with different capitals. Lookups ignore case (pics.md §1c rule 4), so nothing breaks,
// but a lab file spelling a code differently from the test plan is worth a look.
func (s Set) CaseMismatches(codes ...string) []Warning {
	var out []Warning
	for _, c := range codes {
		c = strings.TrimSpace(c)
		if e, ok := s.codes[strings.ToUpper(c)]; ok && e.code != c {
			out = append(out, Warning{File: e.file, Line: e.line, Item: e.code,
				Message: fmt.Sprintf("declared as %q, used as %q; matched ignoring case", e.code, c)})
		}
	}
	return out
}

// Len is the number of codes.
func (s Set) Len() int { return len(s.codes) }

// Text renders the effective codes in the CI text format (pics.md §1a), one CODE=1 or CODE=0 per line,
// sorted ignoring case, in the spelling of the definition that won. It is meant to be echoed into
// reports and reads back with Load.
func (s Set) Text() string {
	keys := make([]string, 0, len(s.codes))
	for k := range s.codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		e := s.codes[k]
		b.WriteString(e.code)
		if e.value {
			b.WriteString("=1\n")
		} else {
			b.WriteString("=0\n")
		}
	}
	return b.String()
}

// Warning is something accepted but worth telling the user: an override of an earlier definition, a
// spelling that differs only in case, a true/false value in a text file, an endpoint folder that is
// missing.
type Warning struct {
	File    string
	Line    int    // 1-based, 0 when unknown
	Item    string // the PICS code or PIXIT name, when there is one
	Message string
}

func (w Warning) String() string { return where(w.File, w.Line, w.Item) + ": " + w.Message }

// ParseError is a PICS input that cannot be accepted. It names the file, the line (for text files
// and XML items) and the item.
type ParseError struct {
	File string
	Line int    // 1-based, 0 when unknown
	Item string // the PICS code or XML element concerned, when known
	Msg  string
	Err  error // underlying error (XML syntax, I/O), if any
}

func (e *ParseError) Error() string {
	s := "pics: " + where(e.File, e.Line, e.Item) + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }

func where(file string, line int, item string) string {
	s := file
	if line > 0 {
		s += ":" + strconv.Itoa(line)
	}
	if item != "" {
		s += ": " + clip(item)
	}
	return s
}

// builder merges definitions in order, later wins, and collects warnings (pics.md §1c rule 4).
type builder struct {
	set      Set
	warnings []Warning
}

func (b *builder) warn(file string, line int, item, format string, args ...any) {
	b.warnings = append(b.warnings, Warning{File: file, Line: line, Item: item, Message: fmt.Sprintf(format, args...)})
}

// isKnob reports whether code is one of the CI knobs that share the text file (PICS_SDK_CI_ONLY,
// PICS_SKIP_SAMPLE_APP, PICS_USER_PROMPT, ...): they steer test runners, they declare nothing.
func isKnob(code string) bool {
	return len(code) >= 5 && strings.EqualFold(code[:5], "PICS_")
}

func (b *builder) setCode(code string, v bool, file string, line int) {
	if isKnob(code) {
		return
	}
	if b.set.codes == nil {
		b.set.codes = map[string]entry{}
	}
	key := strings.ToUpper(code)
	if old, ok := b.set.codes[key]; ok {
		from := where(old.file, old.line, "")
		if old.value != v {
			b.warn(file, line, code, "%s overrides %s=%s from %s (later definitions win)", boolText(v), old.code, boolText(old.value), from)
		}
		if old.code != code {
			b.warn(file, line, code, "spelled %q here and %q in %s; codes compare ignoring case", code, old.code, from)
		}
	}
	b.set.codes[key] = entry{value: v, code: code, file: file, line: line}
}

func (b *builder) setPIXIT(name, v string, file string, line int) {
	if notSupplied(v) {
		return
	}
	if b.set.pixit == nil {
		b.set.pixit = map[string]pixitEntry{}
	}
	key := strings.ToUpper(name)
	if old, ok := b.set.pixit[key]; ok && old.value != v {
		b.warn(file, line, name, "value %q overrides %q from %s (later definitions win)", clip(v), clip(old.value), old.from)
	}
	b.set.pixit[key] = pixitEntry{value: v, name: name, from: where(file, line, "")}
}

// notSupplied: pics.md §1b/§1c rule 2, PICS Tool templates carry "0x00" and "n/a" placeholders in
// pixitItem support fields until the lab fills them in.
func notSupplied(v string) bool {
	return v == "" || strings.EqualFold(v, "n/a") || strings.EqualFold(v, "0x00")
}

func boolText(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// validCode checks the characters of a code: PICS codes and PIXIT names are made of letters, digits,
// '.', '_' and '-'. Anything else (spaces, expression operators, control characters) is a typo or a
// file that is not PICS. It returns the offending byte's index, or -1.
func validCode(code string) int {
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return i
		}
	}
	return -1
}

func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func badChar(code string, i int) string {
	return fmt.Sprintf("code %q has %q at column %d; codes are letters, digits, '.', '_' and '-'", clip(code), code[i:i+1], i+1)
}
