package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/otaconf/otaconf/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Our own view of JUnit XML, independent of the junit package's structs, for reading the output back.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Timestamp  string      `xml:"timestamp,attr"`
	Properties []xProperty `xml:"properties>property"`
	Cases      []xCase     `xml:"testcase"`
}

type xProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xCase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *xResult `xml:"failure"`
	Error     *xResult `xml:"error"`
	Skipped   *xResult `xml:"skipped"`
	SystemOut *string  `xml:"system-out"`
}

type xResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Data    string `xml:",chardata"`
}

func junitOf(t testing.TB, rep *harness.Report) (string, xSuites) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, JUnit(&b, rep))
	var got xSuites
	require.NoError(t, xml.Unmarshal(b.Bytes(), &got), "the output parses with encoding/xml")
	return b.String(), got
}

func allCases(s xSuites) []xCase {
	var out []xCase
	for _, su := range s.Suites {
		out = append(out, su.Cases...)
	}
	return out
}

func TestJUnitGoldenFile(t *testing.T) {
	out, _ := junitOf(t, fixture())
	golden(t, "junit.golden", []byte(out))
}

func TestJUnitHasOneTestcasePerCaseInOneSuitePerGroup(t *testing.T) {
	rep := fixture()
	_, got := junitOf(t, rep)
	cs := allCases(got)
	require.Len(t, cs, len(rep.Results))
	for i, r := range rep.Results {
		assert.Equal(t, cleanLine(r.ID+" "+r.Title), cs[i].Name, "name = id + title so the test-plan id is searchable")
		assert.Equal(t, r.Section, cs[i].Classname, "classname = spec section")
	}
	var names []string
	for _, s := range got.Suites {
		names = append(names, s.Name)
		assert.Equal(t, len(s.Cases), s.Tests)
		assert.Equal(t, "2025-03-04T10:11:12Z", s.Timestamp)
	}
	assert.Equal(t, []string{"TC-SU-3.2", "11.20.3.2", "TC-SU-3.3", "bug", "11.20.6.5.1"}, names)
	assert.Equal(t, 6, got.Tests)
	assert.Equal(t, 2, got.Failures)
	assert.Equal(t, 1, got.Errors)
	assert.Equal(t, 1, got.Skipped)
	assert.Equal(t, "0.012", cs[0].Time, "seconds with millisecond precision")
}

func TestJUnitCarriesTheRunAsProperties(t *testing.T) {
	_, got := junitOf(t, fixture())
	props := map[string]string{}
	for _, p := range got.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	assert.Equal(t, map[string]string{
		"target": "lab provider v2", "seed": "42", "strict": "false", "verdict": "FAIL (2 failed, 1 error)",
		"pics.MCORE.OTA.HTTPS": "0", "pics.MCORE.OTA.PROVIDER": "1", "pics.OTAP.S.M.DELAYEDACTIONTIME": "1",
	}, props)
}

func TestJUnitOutcomes(t *testing.T) {
	_, got := junitOf(t, fixture())
	cs := allCases(got)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{name: "a pass has no result element and its log in system-out", check: func(t *testing.T) {
			assert.Nil(t, cs[0].Failure)
			assert.Nil(t, cs[0].Skipped)
			require.NotNil(t, cs[0].SystemOut)
			assert.Contains(t, *cs[0].SystemOut, "test plan: TC-SU-3.2 step 1 (TC_SU_3_2)\n")
		}},
		{name: "a failure carries expected, actual, section, level and the exchanges", check: func(t *testing.T) {
			f := cs[1].Failure
			require.NotNil(t, f)
			assert.Equal(t, "MUST", f.Type)
			assert.True(t, strings.HasPrefix(f.Message, "step 3: QueryImageResponse.ImageURI: URI names node"))
			for _, want := range []string{
				"section: §11.20.6.5.2.3\n", "level: MUST\n", "PICS: MCORE.OTA.Provider\n",
				"  expected: bdx://000000000000000B/otaconf-fff1-8000-v2.ota\n  actual:   bdx://0000000000000002/otaconf-fff1-8000-v2.ota\n",
				"  see: §11.20.6.5.2.3 rule 4\n", "  rule: uri.bdx.node-id-provider\n",
				"  [1] step 3, 1/000000000001A001: QueryImage -> QueryImageResponse\n", "      request:  " + qiHex + "\n",
				"      response: " + qirHex + "\n", "        5 = hex:0102030405060708090A0B0C0D0E0F10,\n",
			} {
				assert.Contains(t, f.Data, want)
			}
		}},
		{name: "a SHOULD warning on a pass goes to system-out and fails nothing", check: func(t *testing.T) {
			assert.Nil(t, cs[2].Failure)
			require.NotNil(t, cs[2].SystemOut)
			assert.Contains(t, *cs[2].SystemOut, "warning 1 of 1 (does not fail the run):\n  SHOULD: the second offer repeats")
		}},
		{name: "a skip carries its reason", check: func(t *testing.T) {
			require.NotNil(t, cs[3].Skipped)
			assert.Equal(t, "not applicable: PICS OTAP.S.M.UserConsentNeeded is not declared", cs[3].Skipped.Message)
		}},
		{name: "an error outcome is an error element", check: func(t *testing.T) {
			require.NotNil(t, cs[4].Error)
			assert.Nil(t, cs[4].Failure)
			assert.Equal(t, "BDX download did not finish within the case timeout: context deadline exceeded", cs[4].Error.Message)
			assert.Contains(t, cs[4].Error.Data, "status:   context deadline exceeded")
		}},
		{name: "hostile text survives as escapes, ]]> and markup as text", check: func(t *testing.T) {
			want := `NUL\x00 ESC\x1B[31mred\x1B]0;pwned\x07 bad\xFF ]]> <script>alert(1)</script> CR\rC1\u009B RLO\u202Eevil U+FFFF\uFFFF end`
			assert.Equal(t, "11.20.6.5.1/location-3 Location of 3 characters "+want, cs[5].Name)
			require.NotNil(t, cs[5].Failure)
			assert.Equal(t, "the provider said "+want, cs[5].Failure.Message)
			assert.Contains(t, cs[5].Failure.Data, "  actual:   QueryImageResponse "+want+"\n")
			assert.Contains(t, cs[5].Failure.Data, "log:\n  multi-line\n  log "+want)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// legalXML reports the first character of s that is not an XML 1.0 Char (§2.2), or -1.
func legalXML(s string) int {
	for i, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok || (r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) {
			return i
		}
	}
	return -1
}

func TestJUnitOutputHoldsOnlyLegalXMLCharacters(t *testing.T) {
	out, _ := junitOf(t, fixture())
	assert.True(t, utf8.ValidString(out))
	assert.Equal(t, -1, legalXML(out))
	assert.True(t, strings.HasPrefix(out, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<testsuites"))
}

func TestJUnitOfNothing(t *testing.T) {
	out, got := junitOf(t, &harness.Report{Target: "t"})
	assert.Empty(t, got.Suites)
	assert.Contains(t, out, `<testsuites name="otaconf t" time="0.000"></testsuites>`)
	assert.Error(t, JUnit(&bytes.Buffer{}, nil))
}

func FuzzJUnit(f *testing.F) {
	f.Add("TC-SU-3.2/3", "title", "§11.20.6.5.2", "message", "expected", "actual", "log")
	f.Add("bug/x", hostile, "]]>", "a]]>b]]]]>", "\x00", "\xff\xfe", "<![CDATA[")
	f.Add("", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, title, section, msg, expected, actual, log string) {
		rep := &harness.Report{Target: title, PICS: map[string]bool{section: true}}
		for _, o := range []harness.Outcome{harness.Pass, harness.Fail, harness.Skip, harness.Error, harness.Outcome(msg)} {
			rep.Results = append(rep.Results, harness.Result{ID: id, Title: title, Section: section, TestPlan: section, Outcome: o, Message: msg,
				Failures: []harness.Failure{{Message: msg, Expected: expected, Actual: actual, Section: section}},
				Warnings: []harness.Failure{{Message: actual}}, Log: []string{log},
				Exchanges: []harness.ExchangeRecord{{Request: title, RequestHex: expected, Decoded: actual}}})
		}
		var b bytes.Buffer
		if err := JUnit(&b, rep); err != nil {
			t.Fatal(err)
		}
		if i := legalXML(b.String()); i >= 0 {
			t.Fatalf("illegal XML character at byte %d", i)
		}
		var got xSuites
		if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, b.String())
		}
		cs := allCases(got)
		if len(cs) != len(rep.Results) {
			t.Fatalf("%d testcases for %d cases", len(cs), len(rep.Results))
		}
		// Attributes and character data read back exactly as sanitised, so nothing was lost to the
		// XML layer (a "]]>" splitting CDATA, a dropped control character).
		if want := cleanLine(id + " " + title); cs[0].Name != want {
			t.Fatalf("name %q, want %q", cs[0].Name, want)
		}
		if cs[1].Failure == nil || cs[1].Failure.Message != cleanLine(msg) {
			t.Fatalf("failure message lost: %+v", cs[1].Failure)
		}
		if (expected != "" || actual != "") && !strings.Contains(cs[1].Failure.Data, "  actual:   "+indent(clean(actual), "            ")+"\n") {
			t.Fatalf("failure data lost the actual value %q:\n%s", clean(actual), cs[1].Failure.Data)
		}
		if cs[2].Skipped == nil || cs[3].Error == nil {
			t.Fatal("skip or error outcome lost")
		}
	})
}
