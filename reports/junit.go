package reports

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"
	"github.com/otaconf/otaconf/harness"
)

// JUnit writes the report as JUnit XML for CI systems and test-management tools: one testsuite per
// group (test-plan case or spec section), one testcase per case. A testcase's name is its id and
// title, so the test-plan id can be searched for (pics.md §4), and its classname is the spec section;
// a failure carries expected and actual, section, level and the exchanges; a skip carries its
// reason; an error outcome is an <error>. Every suite carries the run's target, seed, mode and
// effective PICS as properties. All text is reduced to legal XML 1.0 characters first.
func JUnit(w io.Writer, rep *harness.Report) error {
	if rep == nil {
		return errors.New("reports: JUnit: nil report")
	}
	s := summary(rep)
	_, v := verdict(s)
	suites := junit.Testsuites{Name: cleanLine("otaconf " + rep.Target), Time: seconds(rep.Duration)}
	for i, g := range groups(rep.Results) {
		ts := junit.Testsuite{Name: cleanLine(g.Name), ID: i}
		if !rep.Started.IsZero() {
			ts.Timestamp = rep.Started.Format(time.RFC3339)
		}
		ts.AddProperty("target", cleanLine(rep.Target))
		ts.AddProperty("seed", fmt.Sprint(rep.Seed))
		ts.AddProperty("strict", fmt.Sprint(rep.Strict))
		ts.AddProperty("verdict", v)
		for _, line := range picsLines(rep.PICS) {
			code, val, _ := strings.Cut(line, "=")
			ts.AddProperty("pics."+cleanLine(code), val)
		}
		var d time.Duration
		for _, r := range g.Results {
			d += r.Duration
			ts.AddTestcase(testcase(r))
		}
		ts.Time = seconds(d)
		suites.AddSuite(ts)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("reports: writing JUnit: %w", err)
	}
	if err := suites.WriteXML(w); err != nil {
		return fmt.Errorf("reports: writing JUnit: %w", err)
	}
	return nil
}

func testcase(r *harness.Result) junit.Testcase {
	tc := junit.Testcase{
		Name:      cleanLine(r.ID + " " + r.Title),
		Classname: cleanLine(r.Section),
		Time:      seconds(r.Duration),
		Status:    cleanLine(string(r.Outcome)),
	}
	switch r.Outcome {
	case harness.Fail:
		typ := r.Level.String()
		if len(r.Failures) > 0 {
			typ = r.Failures[0].Level.String()
		}
		tc.Failure = &junit.Result{Message: cleanLine(r.Message), Type: typ, Data: clean(details(r, true))}
	case harness.Error:
		tc.Error = &junit.Result{Message: cleanLine(r.Message), Type: "error", Data: clean(details(r, true))}
	case harness.Skip:
		tc.Skipped = &junit.Result{Message: cleanLine(r.Message)}
	}
	if r.Outcome != harness.Fail && r.Outcome != harness.Error {
		if out := details(r, false); out != "" {
			tc.SystemOut = &junit.Output{Data: clean(out)}
		}
	}
	return tc
}

// details is the plain-text body of a case: header, failures, warnings, and (when full) exchanges;
// the log always. Without full, a case with neither warnings nor log has no body.
func details(r *harness.Result, full bool) string {
	if !full && len(r.Warnings) == 0 && len(r.Log) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.ID, r.Title)
	if r.Section != "" {
		fmt.Fprintf(&b, "section: %s\n", r.Section)
	}
	if r.TestPlan != "" {
		if tc := tcName(r.TestPlan); tc != "" {
			fmt.Fprintf(&b, "test plan: %s (%s)\n", r.TestPlan, tc)
		} else {
			fmt.Fprintf(&b, "test plan: %s\n", r.TestPlan)
		}
	}
	fmt.Fprintf(&b, "level: %s\n", r.Level)
	if len(r.PICS) > 0 {
		fmt.Fprintf(&b, "PICS: %s\n", strings.Join(r.PICS, " && "))
	}
	fmt.Fprintf(&b, "outcome: %s\n", r.Outcome)
	if r.Outcome == harness.Error || (r.Outcome == harness.Fail && len(r.Failures) == 0) {
		fmt.Fprintf(&b, "reason: %s\n", indent(r.Message, "  "))
	}
	for i, f := range r.Failures {
		fmt.Fprintf(&b, "\nfailure %d of %d:\n", i+1, len(r.Failures))
		writeFailure(&b, f)
	}
	for i, f := range r.Warnings {
		fmt.Fprintf(&b, "\nwarning %d of %d (does not fail the run):\n", i+1, len(r.Warnings))
		writeFailure(&b, f)
	}
	if full && len(r.Exchanges) > 0 {
		b.WriteString("\nexchanges:\n")
		for i, x := range r.Exchanges {
			fmt.Fprintf(&b, "  [%d] %s\n", i+1, indent(exchangeLine(x), "      "))
			if x.RequestHex != "" {
				fmt.Fprintf(&b, "      request:  %s\n", x.RequestHex)
			}
			if x.ResponseHex != "" {
				fmt.Fprintf(&b, "      response: %s\n", x.ResponseHex)
			}
			if x.Status != "" {
				fmt.Fprintf(&b, "      status:   %s\n", indent(x.Status, "                "))
			}
			if x.Decoded != "" {
				b.WriteString("      decoded:\n")
				for _, l := range strings.Split(x.Decoded, "\n") {
					fmt.Fprintf(&b, "        %s\n", l)
				}
			}
		}
	}
	if len(r.Log) > 0 {
		b.WriteString("\nlog:\n")
		for _, l := range r.Log {
			fmt.Fprintf(&b, "  %s\n", indent(l, "  "))
		}
	}
	return b.String()
}

func writeFailure(b *strings.Builder, f harness.Failure) {
	fmt.Fprintf(b, "  %s: %s\n", f.Level, indent(f.Message, "    "))
	if f.Expected != "" || f.Actual != "" {
		fmt.Fprintf(b, "  expected: %s\n  actual:   %s\n", indent(f.Expected, "            "), indent(f.Actual, "            "))
	}
	if f.Section != "" {
		fmt.Fprintf(b, "  see: %s\n", f.Section)
	}
	if f.Rule != "" {
		fmt.Fprintf(b, "  rule: %s\n", f.Rule)
	}
}

// indent puts prefix before every line of s but the first, so multi-line values stay under their
// label.
func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }
