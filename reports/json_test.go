package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validUTF8 is the fixture as JSON can carry it: encoding/json writes U+FFFD for invalid bytes.
func validUTF8(rep *harness.Report) *harness.Report {
	fix := func(s *string) { *s = strings.ToValidUTF8(*s, "\uFFFD") }
	fixF := func(fs []harness.Failure) {
		for i := range fs {
			fix(&fs[i].Message)
			fix(&fs[i].Expected)
			fix(&fs[i].Actual)
		}
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		fix(&r.Title)
		fix(&r.Message)
		fixF(r.Failures)
		fixF(r.Warnings)
		for j := range r.Log {
			fix(&r.Log[j])
		}
		for j := range r.Exchanges {
			fix(&r.Exchanges[j].Decoded)
		}
	}
	return rep
}

func TestJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, JSON(&b, fixture()))
	want := validUTF8(fixture())

	t.Run("through ReadJSON", func(t *testing.T) {
		got, err := ReadJSON(bytes.NewReader(b.Bytes()))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("through plain encoding/json into harness.Report", func(t *testing.T) {
		var got harness.Report
		require.NoError(t, json.Unmarshal(b.Bytes(), &got))
		assert.Equal(t, *want, got)
	})
	t.Run("and writes the same JSON as the report it came from", func(t *testing.T) {
		got, err := ReadJSON(bytes.NewReader(b.Bytes()))
		require.NoError(t, err)
		var again, orig bytes.Buffer
		require.NoError(t, JSON(&again, got))
		require.NoError(t, JSON(&orig, want))
		assert.Equal(t, orig.String(), again.String())
	})
}

func TestJSONCarriesSchemaVerdictAndReadableDurations(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, JSON(&b, fixture()))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, "otaconf-report", doc["schema"])
	assert.Equal(t, float64(1), doc["schema_version"])
	assert.Equal(t, "1.25s", doc["duration"])
	assert.Equal(t, float64(1250e6), doc["duration_ns"])
	assert.Equal(t, false, doc["ok"])
	assert.Equal(t, "FAIL (2 failed, 1 error)", doc["verdict"])
	res := doc["results"].([]any)
	require.Len(t, res, 6)
	first := res[1].(map[string]any)
	assert.Equal(t, "3ms", first["duration"])
	assert.Equal(t, "MUST", first["level_name"])
	assert.Equal(t, "MUST", first["failures"].([]any)[0].(map[string]any)["level_name"])
	assert.Equal(t, "SHOULD", res[2].(map[string]any)["warnings"].([]any)[0].(map[string]any)["level_name"])
	assert.True(t, strings.HasPrefix(b.String(), "{\n  \"schema\": \"otaconf-report\",\n  \"schema_version\": 1,\n"), "indented, schema first")
	assert.Contains(t, b.String(), `NUL\u0000 ESC\u001b[31m`, "control characters are JSON escapes, not raw bytes")
}

func TestReadJSONRejectsWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		errHas string
		schema bool
	}{
		{name: "another document", in: `{"hello": 1}`, errHas: `schema "" version 0`, schema: true},
		{name: "a future schema version", in: `{"schema": "otaconf-report", "schema_version": 2}`, errHas: "version 2", schema: true},
		{name: "truncated JSON names the offset", in: `{"schema": "otaconf-report", "schema_version": 1, "results": [`, errHas: "byte offset 62"},
		{name: "a wrong type names the field", in: `{"schema": "otaconf-report", "schema_version": 1, "seed": "forty-two"}`, errHas: `field "seed"`},
		{name: "not JSON at all", in: `<testsuites/>`, errHas: "byte offset 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errHas)
			assert.Equal(t, tt.schema, errors.Is(err, ErrSchema))
		})
	}
	assert.Error(t, JSON(&bytes.Buffer{}, nil))
}

func FuzzReadJSON(f *testing.F) {
	var b bytes.Buffer
	if err := JSON(&b, fixture()); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"schema":"otaconf-report","schema_version":1,"results":[{"id":"x","outcome":"fail","level":7,"failures":[{}]}],"pics":{"A":true}}`))
	f.Add([]byte(`{"schema":"otaconf-report","schema_version":1,"started":"2025-01-01T00:00:00+05:30","duration_ns":-5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "reports: JSON report: ") {
				t.Fatalf("error does not say where it comes from: %v", err)
			}
			return
		}
		// decode → encode → decode is stable, and every renderer copes with whatever decoded.
		var out bytes.Buffer
		if err := JSON(&out, rep); err != nil {
			t.Fatal(err)
		}
		again, err := ReadJSON(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("re-encoded report does not read back: %v", err)
		}
		var out2 bytes.Buffer
		if err := JSON(&out2, again); err != nil {
			t.Fatal(err)
		}
		if out.String() != out2.String() {
			t.Fatalf("unstable:\n%s\n%s", out.String(), out2.String())
		}
		Console(&bytes.Buffer{}, again, ConsoleOptions{Verbose: true, Color: true})
		if err := JUnit(&bytes.Buffer{}, again); err != nil {
			t.Fatal(err)
		}
		if err := HTML(&bytes.Buffer{}, again); err != nil {
			t.Fatal(err)
		}
	})
}
