package reports

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/otaconf/otaconf/harness"
)

// clean makes text that came from a target (messages, decoded values, log lines) safe for every
// output format: tab and newline stay; other C0 controls, DEL and invalid UTF-8 bytes become \xNN;
// C1 controls, the noncharacters U+FFFE/U+FFFF and the bidirectional overrides become \uNNNN. The
// result is valid UTF-8 made only of XML 1.0 characters (XML 1.0 §2.2), and carries no terminal
// escape sequence (ESC) and no bidi trick that would make a console line read differently from its
// bytes. A backslash is left alone, so "\x00" in the output is ambiguous with those four characters
// in the input; readability wins.
func clean(s string) string { return sanitize(s, false) }

// cleanLine is clean for one-line contexts (XML attributes, progress lines): newline and carriage
// return become \n and \r as well.
func cleanLine(s string) string { return sanitize(s, true) }

func sanitize(s string, oneLine bool) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != 0x7F || c == '\t' || (c == '\n' && !oneLine) {
				i++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to do
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != 0x7F, c == '\t', c == '\n' && !oneLine:
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			default:
				fmt.Fprintf(&b, `\x%02X`, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02X`, c)
		case needsEscape(r, n):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // invalid byte
		return true
	case r >= 0x80 && r <= 0x9F: // C1 controls (CSI is one)
		return true
	case r == 0xFFFE || r == 0xFFFF: // not XML characters
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	}
	return false
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// human formats a duration for people, stable across runs of the same length: 850µs, 12ms, 1.25s,
// 2m3s.
func human(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// seconds is the JUnit time attribute: seconds with millisecond precision.
func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// group is the results of one test-plan case or spec section, in run order.
type group struct {
	Name    string
	Results []*harness.Result
}

// groupOf is the part of a case id before the first '/': "TC-SU-3.2" of "TC-SU-3.2/3",
// "11.20.6.5.1" of "11.20.6.5.1/location-3", "bug" of "bug/declined-offer" (harness.Case.Group).
func groupOf(id string) string {
	g, _, _ := strings.Cut(id, "/")
	return g
}

// groups splits results by group, groups in order of first appearance.
func groups(rs []harness.Result) []group {
	var out []group
	index := map[string]int{}
	for i := range rs {
		g := groupOf(rs[i].ID)
		j, ok := index[g]
		if !ok {
			j = len(out)
			index[g] = j
			out = append(out, group{Name: g})
		}
		out[j].Results = append(out[j].Results, &rs[i])
	}
	return out
}

// heading names a group for people: a spec-section group gets its "§", and when every case of the
// group cites the same section that is not the group itself, the section follows in parentheses.
func (g group) heading() string {
	h := g.Name
	if isSectionNumber(h) {
		h = "§" + h
	}
	sec := g.Results[0].Section
	for _, r := range g.Results[1:] {
		if r.Section != sec {
			return h
		}
	}
	if sec != "" && sec != h {
		h += " (" + sec + ")"
	}
	return h
}

func isSectionNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789.") == "" && s[0] != '.'
}

// summary is the report's summary, recounted when it does not match the results (a report built by
// hand, or edited).
func summary(rep *harness.Report) harness.Summary {
	if s := rep.Summary; s.Total == len(rep.Results) && s.Passed+s.Failed+s.Skipped+s.Errors == s.Total {
		return s
	}
	s := harness.Summary{Total: len(rep.Results)}
	for _, r := range rep.Results {
		switch r.Outcome {
		case harness.Pass:
			s.Passed++
		case harness.Fail:
			s.Failed++
		case harness.Skip:
			s.Skipped++
		case harness.Error:
			s.Errors++
		}
		s.Warnings += len(r.Warnings)
	}
	return s
}

// verdict is the run's exit verdict, as harness.Report.OK decides it: no failure and no error.
func verdict(s harness.Summary) (ok bool, text string) {
	if s.Failed == 0 && s.Errors == 0 {
		if s.Total == 0 {
			return true, "PASS (no case ran)"
		}
		return true, "PASS"
	}
	var parts []string
	if s.Failed > 0 {
		parts = append(parts, plural(s.Failed, "failed", "failed"))
	}
	if s.Errors > 0 {
		parts = append(parts, plural(s.Errors, "error", "errors"))
	}
	return false, "FAIL (" + strings.Join(parts, ", ") + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// counts is "12 cases: 8 passed, 2 failed, 1 skipped, 1 error; 3 warnings".
func counts(s harness.Summary) string {
	return fmt.Sprintf("%s: %d passed, %d failed, %d skipped, %s; %s", plural(s.Total, "case", "cases"),
		s.Passed, s.Failed, s.Skipped, plural(s.Errors, "error", "errors"), plural(s.Warnings, "warning", "warnings"))
}

func mode(strict bool) string {
	if strict {
		return "strict (SHOULD failures fail the run)"
	}
	return "default (SHOULD failures are warnings)"
}

// tcName is the Test Harness spelling of a test-plan id, TC_SU_3_2 for TC-SU-3.2 (pics.md §4), so
// that both spellings can be searched for; "" when the step names no TC id.
func tcName(testPlan string) string {
	id, _, _ := strings.Cut(testPlan, " ")
	if !strings.HasPrefix(id, "TC-") {
		return ""
	}
	return strings.NewReplacer("-", "_", ".", "_").Replace(id)
}

// wrap splits a long unbroken string (hex) into lines of n characters.
func wrap(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}
