package reports

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/otaconf/otaconf/harness"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

type htmlView struct {
	Target, Started, Duration, Verdict, Counts string
	Seed                                       int64
	Strict                                     bool
	OK                                         bool
	Mode                                       string
	Summary                                    harness.Summary
	Groups                                     []htmlGroup
	PICS                                       []htmlPICS
	Schema                                     string
}

type htmlGroup struct {
	Heading string
	Cases   []htmlCase
}

type htmlPICS struct {
	Code  string
	Value bool
}

type htmlCase struct {
	ID, Title, Section, TestPlan, TCName, Level, Outcome, Message, Duration string
	PICS                                                                    []string
	Open                                                                    bool
	Failures, Warnings                                                      []htmlFailure
	Exchanges                                                               []htmlExchange
	Log                                                                     string
}

type htmlFailure struct {
	Level, Message, Expected, Actual, Section, Rule string
	HasValues                                       bool
}

type htmlExchange struct {
	N                                        int
	Line, Request, Response, Status, Decoded string
}

// HTML writes the report as one self-contained page a test lab can open and pass on: a header with
// target, date, seed, mode and counts; filters by outcome and warnings and a text search (a little
// inline script); one expandable entry per case with section, test-plan step, level, PICS, failures
// (expected versus actual), warnings, log and exchanges (hex and decoded TLV); and the effective PICS.
// It loads nothing from anywhere; html/template escapes every value.
func HTML(w io.Writer, rep *harness.Report) error {
	if rep == nil {
		return errors.New("reports: HTML: nil report")
	}
	s := summary(rep)
	ok, v := verdict(s)
	view := htmlView{
		Target: clean(rep.Target), Duration: human(rep.Duration), Verdict: v, OK: ok,
		Seed: rep.Seed, Strict: rep.Strict, Mode: mode(rep.Strict), Summary: s, Counts: counts(s),
		Schema: fmt.Sprintf("%s v%d", JSONSchema, JSONSchemaVersion),
	}
	if !rep.Started.IsZero() {
		view.Started = rep.Started.Format("2006-01-02 15:04:05 MST")
	}
	for _, g := range groups(rep.Results) {
		hg := htmlGroup{Heading: clean(g.heading())}
		for _, r := range g.Results {
			hg.Cases = append(hg.Cases, htmlCaseOf(r))
		}
		view.Groups = append(view.Groups, hg)
	}
	for _, line := range picsLines(rep.PICS) {
		code, val, _ := strings.Cut(line, "=")
		view.PICS = append(view.PICS, htmlPICS{Code: clean(code), Value: val == "1"})
	}
	if err := htmlTemplate.Execute(w, view); err != nil {
		return fmt.Errorf("reports: writing HTML: %w", err)
	}
	return nil
}

func htmlCaseOf(r *harness.Result) htmlCase {
	c := htmlCase{
		ID: clean(r.ID), Title: clean(r.Title), Section: clean(r.Section), TestPlan: clean(r.TestPlan),
		TCName: tcName(clean(r.TestPlan)), Level: r.Level.String(), Outcome: clean(string(r.Outcome)),
		Open: r.Outcome == harness.Fail || r.Outcome == harness.Error,
		Log:  clean(strings.Join(r.Log, "\n")),
	}
	if r.Outcome != harness.Pass {
		c.Message = clean(r.Message)
	}
	if r.Duration > 0 {
		c.Duration = human(r.Duration)
	}
	for _, p := range r.PICS {
		c.PICS = append(c.PICS, clean(p))
	}
	c.Failures = htmlFailures(r.Failures)
	c.Warnings = htmlFailures(r.Warnings)
	for i, x := range r.Exchanges {
		c.Exchanges = append(c.Exchanges, htmlExchange{
			N:        i + 1,
			Line:     clean(exchangeLine(x)),
			Request:  clean(strings.Join(wrap(x.RequestHex, 64), "\n")),
			Response: clean(strings.Join(wrap(x.ResponseHex, 64), "\n")),
			Status:   clean(x.Status),
			Decoded:  clean(x.Decoded),
		})
	}
	return c
}

func htmlFailures(fs []harness.Failure) []htmlFailure {
	var out []htmlFailure
	for _, f := range fs {
		out = append(out, htmlFailure{
			Level: f.Level.String(), Message: clean(f.Message), Expected: clean(f.Expected), Actual: clean(f.Actual),
			Section: clean(f.Section), Rule: clean(f.Rule), HasValues: f.Expected != "" || f.Actual != "",
		})
	}
	return out
}
