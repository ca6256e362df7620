package pics

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// checkParsed holds for any input a parser accepted: every code is well formed, and the text echo
// reads back to the same set (parse → Text → parse is stable).
func checkParsed(t *testing.T, b *builder) {
	t.Helper()
	for k := range b.set.codes {
		if validCode(k) >= 0 || k == "" || isKnob(k) {
			t.Fatalf("accepted code %q", k)
		}
	}
	txt := b.set.Text()
	again := &builder{}
	if err := parseText(again, "echo", []byte(txt)); err != nil {
		t.Fatalf("the text echo does not read back: %v\n%s", err, txt)
	}
	if len(again.warnings) != 0 {
		t.Fatalf("the text echo reads back with warnings: %v", again.warnings)
	}
	if got := again.set.Text(); got != txt {
		t.Fatalf("text echo unstable:\n%s\nthen\n%s", txt, got)
	}
}

// checkError holds for any input a parser refused: a *ParseError naming the file, and for text a line
// that exists.
func checkError(t *testing.T, err error, data []byte, wantLine bool) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *ParseError: %v", err)
	}
	if pe.File != "fuzz.pics" || !strings.Contains(err.Error(), "fuzz.pics") {
		t.Fatalf("error does not name the file: %v", err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	if wantLine && (pe.Line < 1 || pe.Line > lines) {
		t.Fatalf("error names line %d of %d: %v", pe.Line, lines, err)
	}
}

func FuzzParseText(f *testing.F) {
	for _, p := range []string{"testdata/ci-pics-values.txt"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("A=1\nA=0\na=true\nPIXIT.X=5\nPICS_X=?\n"))
	f.Add([]byte("\xEF\xBB\xBF# only a comment\r\n"))
	f.Add([]byte("A=1=1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &builder{}
		if err := parseText(b, "fuzz.pics", data); err != nil {
			checkError(t, err, data, true)
			return
		}
		checkParsed(t, b)
	})
}

func FuzzParseXML(f *testing.F) {
	for _, p := range []string{"testdata/ota-cluster.xml", "testdata/Base.xml", "testdata/device/EP1/OTA.xml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<generalPICS><picsItem><itemNumber>A</itemNumber><support>TRUE</support></picsItem><pixitItem><itemNumber>P</itemNumber><support>7</support></pixitItem></generalPICS>`))
	f.Add([]byte(`<clusterPICS><picsItem><itemNumber>A</itemNumber><picsItem><itemNumber>B</itemNumber><support>1</support></picsItem><support>0</support></picsItem></clusterPICS>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &builder{}
		if err := parseXML(b, "fuzz.pics", data); err != nil {
			// Every XML error but a missing root names a line.
			var pe *ParseError
			errors.As(err, &pe)
			checkError(t, err, data, pe != nil && !strings.HasPrefix(pe.Msg, "no root element"))
			return
		}
		checkParsed(t, b)
	})
}
