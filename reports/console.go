package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
)

// ConsoleOptions shape the console listing.
type ConsoleOptions struct {
	// Color adds ANSI colours. The caller decides: on a terminal, and not when NO_COLOR is set.
	Color bool
	// Verbose adds the exchanges (hex and decoded TLV) and the log of failed and errored cases, and
	// the effective PICS.
	Verbose bool
}

// ANSI SGR sequences; only ever written when ConsoleOptions.Color is set.
const (
	sgrReset  = "\x1b[0m"
	sgrBold   = "\x1b[1m"
	sgrDim    = "\x1b[2m"
	sgrRed    = "\x1b[1;31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrCyan   = "\x1b[36m"
	sgrPurple = "\x1b[1;35m"
)

type painter bool

func (p painter) paint(sgr, s string) string {
	if !p || s == "" {
		return s
	}
	return sgr + s + sgrReset
}

func (p painter) mark(o harness.Outcome) string {
	switch o {
	case harness.Pass:
		return p.paint(sgrGreen, "PASS ")
	case harness.Fail:
		return p.paint(sgrRed, "FAIL ")
	case harness.Skip:
		return p.paint(sgrCyan, "SKIP ")
	case harness.Error:
		return p.paint(sgrPurple, "ERROR")
	}
	return p.paint(sgrPurple, fmt.Sprintf("%-5s", strings.ToUpper(clip(cleanLine(string(o)), 5))))
}

func (p painter) level(l ota.Level) string {
	switch l {
	case ota.LevelMust:
		return p.paint(sgrRed, "MUST")
	case ota.LevelShould:
		return p.paint(sgrYellow, "SHOULD")
	}
	return p.paint(sgrDim, l.String())
}

// Console writes the report for a terminal: cases grouped by test-plan case or spec section, one
// line each with its outcome; under a failed case every broken expectation with expected versus
// actual and the spec section; SHOULD warnings marked as such; the reason of every skip and error;
// and the summary last (counts, duration, target, seed, mode, verdict), where a reader's eye lands.
// Text from the target is neutralised (no control characters or escape sequences reach the
// terminal). Write errors are ignored, as for any console output.
func Console(w io.Writer, rep *harness.Report, opts ConsoleOptions) {
	if rep == nil {
		fmt.Fprintln(w, "no report")
		return
	}
	p := painter(opts.Color)
	for _, g := range groups(rep.Results) {
		fmt.Fprintln(w, p.paint(sgrBold, clean(g.heading())))
		for _, r := range g.Results {
			consoleCase(w, p, r, opts.Verbose)
		}
		fmt.Fprintln(w)
	}
	if opts.Verbose && len(rep.PICS) > 0 {
		fmt.Fprintln(w, p.paint(sgrBold, "Effective PICS"))
		for _, line := range picsLines(rep.PICS) {
			fmt.Fprintln(w, "  "+cleanLine(line))
		}
		fmt.Fprintln(w)
	}
	s := summary(rep)
	ok, v := verdict(s)
	vc := sgrGreen + sgrBold
	if !ok {
		vc = sgrRed
	}
	fmt.Fprintln(w, p.paint(sgrBold, "Summary"))
	row := func(k, v string) { fmt.Fprintf(w, "  %-9s %s\n", k, v) }
	row("cases", counts(s))
	row("target", cleanLine(rep.Target))
	if !rep.Started.IsZero() {
		row("started", rep.Started.Format("2006-01-02 15:04:05 MST"))
	}
	row("duration", human(rep.Duration))
	row("seed", fmt.Sprint(rep.Seed))
	row("mode", mode(rep.Strict))
	row("verdict", p.paint(vc, v))
}

func consoleCase(w io.Writer, p painter, r *harness.Result, verbose bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s  %s", p.mark(r.Outcome), cleanLine(r.ID))
	if r.Level != ota.LevelMust {
		fmt.Fprintf(&b, " [%s]", p.level(r.Level))
	}
	fmt.Fprintf(&b, "  %s", cleanLine(r.Title))
	if extra := caseExtras(r, p); extra != "" {
		fmt.Fprintf(&b, "  (%s)", extra)
	}
	fmt.Fprintln(w, b.String())

	const in = "          " // under the title
	switch r.Outcome {
	case harness.Fail, harness.Error:
		where := []string{}
		if r.Section != "" {
			where = append(where, r.Section)
		}
		if r.TestPlan != "" {
			where = append(where, "test plan "+r.TestPlan)
		}
		where = append(where, "level "+r.Level.String())
		fmt.Fprintln(w, in+p.paint(sgrDim, cleanLine(strings.Join(where, ", "))))
		if r.Outcome == harness.Error || len(r.Failures) == 0 {
			writeIndented(w, in, clean(r.Message))
		}
		for _, f := range r.Failures {
			consoleFailure(w, p, in, f, "")
		}
	case harness.Skip:
		writeIndented(w, in, p.paint(sgrDim, clean(r.Message)))
	}
	for _, f := range r.Warnings {
		consoleFailure(w, p, in, f, "warning")
	}
	if verbose && (r.Outcome == harness.Fail || r.Outcome == harness.Error) {
		consoleExchanges(w, in, r.Exchanges)
		if len(r.Log) > 0 {
			fmt.Fprintln(w, in+"log:")
			for _, l := range r.Log {
				writeIndented(w, in+"  ", clean(l))
			}
		}
	}
}

func consoleFailure(w io.Writer, p painter, in string, f harness.Failure, kind string) {
	head := p.level(f.Level)
	if kind != "" {
		head += " " + p.paint(sgrYellow, kind)
	}
	writeIndented(w, in, head+": "+clean(f.Message))
	sub := in + "    "
	if f.Expected != "" || f.Actual != "" {
		writeIndented(w, sub, "expected: "+clean(f.Expected))
		writeIndented(w, sub, "actual:   "+clean(f.Actual))
	}
	var see []string
	if f.Section != "" {
		see = append(see, "see "+f.Section)
	}
	if f.Rule != "" {
		see = append(see, "rule "+f.Rule)
	}
	if len(see) > 0 {
		fmt.Fprintln(w, sub+p.paint(sgrDim, cleanLine(strings.Join(see, ", "))))
	}
}

func consoleExchanges(w io.Writer, in string, xs []harness.ExchangeRecord) {
	if len(xs) == 0 {
		return
	}
	fmt.Fprintln(w, in+"exchanges:")
	for i, x := range xs {
		fmt.Fprintf(w, "%s  [%d] %s\n", in, i+1, cleanLine(exchangeLine(x)))
		sub := in + "      "
		hexBlock(w, sub, "request: ", x.RequestHex)
		hexBlock(w, sub, "response:", x.ResponseHex)
		if x.Status != "" {
			writeIndented(w, sub, "status:   "+clean(x.Status))
		}
		if x.Decoded != "" {
			fmt.Fprintln(w, sub+"decoded:")
			writeIndented(w, sub+"  ", clean(x.Decoded))
		}
	}
}

// exchangeLine is "step 3, 1/000000000001A001: QueryImage -> QueryImageResponse".
func exchangeLine(x harness.ExchangeRecord) string {
	s := ""
	if x.Step != "" {
		s = "step " + x.Step + ", "
	}
	s += x.Requestor + ": " + x.Request
	if x.Response != "" {
		s += " -> " + x.Response
	}
	return s
}

func hexBlock(w io.Writer, in, label, hex string) {
	if hex == "" {
		return
	}
	for i, line := range wrap(cleanLine(hex), 64) {
		if i == 0 {
			fmt.Fprintf(w, "%s%s %s\n", in, label, line)
		} else {
			fmt.Fprintf(w, "%s%s %s\n", in, strings.Repeat(" ", len(label)), line)
		}
	}
}

// writeIndented writes text with every line under the same indent, so a multi-line message cannot
// break the listing's layout.
func writeIndented(w io.Writer, in, text string) {
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintln(w, in+line)
	}
}

// picsLines are the effective codes in the CI text format, sorted.
func picsLines(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		v := "0"
		if m[k] {
			v = "1"
		}
		out[i] = k + "=" + v
	}
	return out
}

// Progress writes one line for a finished case, for use while a run goes (harness.Options.OnResult):
// outcome, id, title, duration and, for anything but a pass, the first failure or the reason.
func Progress(w io.Writer, res harness.Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %s", painter(false).mark(res.Outcome), cleanLine(res.ID), cleanLine(clip(res.Title, 100)))
	if extra := caseExtras(&res, false); extra != "" {
		fmt.Fprintf(&b, " (%s)", extra)
	}
	if res.Outcome != harness.Pass && res.Message != "" {
		b.WriteString(": " + cleanLine(clip(res.Message, 200)))
	}
	fmt.Fprintln(w, b.String())
}

// caseExtras is "12ms, 1 warning"; a zero duration (a case skipped before it ran) is left out.
func caseExtras(r *harness.Result, p painter) string {
	var extra []string
	if r.Duration > 0 {
		extra = append(extra, human(r.Duration))
	}
	if n := len(r.Warnings); n > 0 {
		extra = append(extra, p.paint(sgrYellow, plural(n, "warning", "warnings")))
	}
	return strings.Join(extra, ", ")
}
