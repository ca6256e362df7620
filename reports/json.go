package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/otaconf/otaconf/harness"
)

// JSONSchema and JSONSchemaVersion identify the JSON report format. The version goes up when a field
// changes meaning or goes away; new fields may appear without it.
const (
	JSONSchema        = "otaconf-report"
	JSONSchemaVersion = 1
)

// jsonReport is harness.Report plus what a reader without our Go types wants: the schema, the
// verdict, durations as text and level names. The embedded fields keep harness's JSON names, so the
// output decodes straight into a harness.Report.
type jsonReport struct {
	Schema  string `json:"schema"`
	Version int    `json:"schema_version"`
	harness.Report
	DurationText string       `json:"duration"`
	OK           bool         `json:"ok"`
	Verdict      string       `json:"verdict"`
	Results      []jsonResult `json:"results"`
}

type jsonResult struct {
	harness.Result
	LevelName    string        `json:"level_name"`
	DurationText string        `json:"duration"`
	Failures     []jsonFailure `json:"failures,omitempty"`
	Warnings     []jsonFailure `json:"warnings,omitempty"`
}

type jsonFailure struct {
	harness.Failure
	LevelName string `json:"level_name"`
}

func jsonFailures(fs []harness.Failure) []jsonFailure {
	if fs == nil {
		return nil
	}
	out := make([]jsonFailure, len(fs))
	for i, f := range fs {
		out[i] = jsonFailure{Failure: f, LevelName: f.Level.String()}
	}
	return out
}

// JSON writes the report as indented JSON with a schema name and version. Durations are in
// nanoseconds (duration_ns, as harness has them) and as text (duration); levels as numbers (level)
// and names (level_name). Strings that are not valid UTF-8 come out with U+FFFD in place of the bad
// bytes, as encoding/json does.
func JSON(w io.Writer, rep *harness.Report) error {
	if rep == nil {
		return errors.New("reports: JSON: nil report")
	}
	s := summary(rep)
	ok, v := verdict(s)
	out := jsonReport{Schema: JSONSchema, Version: JSONSchemaVersion, Report: *rep, DurationText: human(rep.Duration), OK: ok, Verdict: v}
	out.Summary = s
	out.Results = make([]jsonResult, len(rep.Results))
	for i, r := range rep.Results {
		out.Results[i] = jsonResult{Result: r, LevelName: r.Level.String(), DurationText: human(r.Duration),
			Failures: jsonFailures(r.Failures), Warnings: jsonFailures(r.Warnings)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("reports: writing JSON: %w", err)
	}
	return nil
}

// ErrSchema is returned by ReadJSON for a document that is not an otaconf report of a version it
// knows.
var ErrSchema = errors.New("not an otaconf JSON report of a known schema version")

// ReadJSON reads a report written by JSON, so that a saved run can be rendered again (as HTML, say).
// Errors name the byte offset and, for a wrong type, the field.
func ReadJSON(r io.Reader) (*harness.Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reports: reading JSON report: %w", err)
	}
	var head struct {
		Schema  string `json:"schema"`
		Version int    `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(err)
	}
	if head.Schema != JSONSchema || head.Version < 1 || head.Version > JSONSchemaVersion {
		return nil, fmt.Errorf("reports: JSON report: schema %q version %d: %w (want %q version 1..%d)",
			clip(cleanLine(head.Schema), 40), head.Version, ErrSchema, JSONSchema, JSONSchemaVersion)
	}
	rep := new(harness.Report)
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(rep); err != nil {
		return nil, jsonError(err)
	}
	return rep, nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("reports: JSON report: byte offset %d: %w", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Errorf("reports: JSON report: field %q at byte offset %d: %w", te.Field, te.Offset, err)
	}
	return fmt.Errorf("reports: JSON report: %w", err)
}
