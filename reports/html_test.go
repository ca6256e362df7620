package reports

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/otaconf/otaconf/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func htmlOf(t testing.TB, rep *harness.Report) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, HTML(&b, rep))
	return b.String()
}

func TestHTMLEscapesEverythingFromTheTarget(t *testing.T) {
	out := htmlOf(t, fixture())
	assert.Equal(t, 1, strings.Count(strings.ToLower(out), "<script"), "only the page's own script")
	assert.Contains(t, out, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotContains(t, out, "<script>alert")
	assert.Contains(t, out, `NUL\x00 ESC\x1B[31mred\x1B]0;pwned\x07 bad\xFF ]]&gt;`, "control characters and bad bytes are shown as escapes")
	assert.True(t, utf8.ValidString(out))
	for i, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7F || (r >= 0x80 && r <= 0x9F) {
			t.Fatalf("control character %U at byte %d", r, i)
		}
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	out := htmlOf(t, fixture())
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?[a-z]*:?//|@import|url\(|<link|<iframe|<img|<object|<embed|\bfetch\(|XMLHttpRequest`)
	assert.Empty(t, external.FindAllString(out, -1), "no external resources")
	assert.True(t, strings.HasPrefix(out, "<!DOCTYPE html>"))
	assert.Contains(t, out, "<style>")
	assert.Contains(t, out, "@media print")
	assert.True(t, strings.HasSuffix(out, "</html>\n"))
}

func TestHTMLHasTheHeaderFiltersCasesAndPICS(t *testing.T) {
	rep := fixture()
	out := htmlOf(t, rep)
	for _, want := range []string{
		"<title>otaconf: lab provider v2 — FAIL (2 failed, 1 error)</title>",
		"<dt>Target</dt><dd>lab provider v2</dd>",
		"<dt>Started</dt><dd>2025-03-04 10:11:12 UTC</dd>",
		"<dt>Duration</dt><dd>1.25s</dd>",
		`<dt>Seed</dt><dd class="mono">42</dd>`,
		"<dt>Mode</dt><dd>default (SHOULD failures are warnings)</dd>",
		"<dt>Cases</dt><dd>6 cases: 2 passed, 2 failed, 1 skipped, 1 error; 1 warning</dd>",
		`<span class="verdict bad">FAIL (2 failed, 1 error)</span>`,
		`data-filter="pass"`, `data-filter="fail"`, `data-filter="skip"`, `data-filter="error"`, `data-filter="warn"`,
		`<input type="search" id="search"`,
		`<h2>TC-SU-3.2</h2>`, `<h2>§11.20.3.2 (§11.20.3.6.1)</h2>`,
		`<dt>Test plan</dt><dd>TC-SU-3.2 step 3 <span class="tag">TC_SU_3_2</span></dd>`,
		`<table><tr><th>expected</th><td>bdx://000000000000000B/otaconf-fff1-8000-v2.ota</td></tr><tr><th>actual</th><td>bdx://0000000000000002/otaconf-fff1-8000-v2.ota</td></tr></table>`,
		`<div class="see">see §11.20.6.5.2.3 rule 4 · rule <code>uri.bdx.node-id-provider</code></div>`,
		`<div class="finding warning"><span class="lvl">SHOULD warning</span> the second offer repeats the first offer&#39;s UpdateToken`,
		`<p class="reason"><strong>Skipped:</strong> not applicable: PICS OTAP.S.M.UserConsentNeeded is not declared</p>`,
		`<p class="reason"><strong>Error:</strong> BDX download did not finish`,
		"<pre title=\"request (hex)\">request\n" + qiHex + "</pre>",
		"<pre title=\"response (hex)\">response\n152400002C022F6264783A2F2F303030303030303030303030303030322F6F74\n",
		"<pre title=\"response, decoded TLV\">{\n  0 = 0U,\n  2 = &#34;bdx://0000000000000002/otaconf-fff1-8000-v2.ota&#34;,",
		"<h3>Log</h3>\n<pre>step 3</pre>",
		`<tr><td><code>MCORE.OTA.HTTPS</code></td><td class="v0">0</td></tr>`,
		`<tr><td><code>MCORE.OTA.PROVIDER</code></td><td class="v1">1</td></tr>`,
	} {
		assert.Contains(t, out, want)
	}
	statuses := regexp.MustCompile(`<details class="case st-(\w+)" data-status="(\w+)" data-warn="([01])"( open)?>`).FindAllStringSubmatch(out, -1)
	require.Len(t, statuses, len(rep.Results), "one entry per case")
	for i, m := range statuses {
		r := rep.Results[i]
		assert.Equal(t, string(r.Outcome), m[2])
		assert.Equal(t, len(r.Warnings) > 0, m[3] == "1")
		assert.Equal(t, r.Outcome == harness.Fail || r.Outcome == harness.Error, m[4] != "", "failures and errors start expanded")
	}
}

func TestHTMLOfAnEmptyReport(t *testing.T) {
	out := htmlOf(t, &harness.Report{Target: "nothing"})
	assert.Contains(t, out, "<p>No PICS were declared.</p>")
	assert.Contains(t, out, `<span class="verdict ok">PASS (no case ran)</span>`)
	assert.NotContains(t, out, "<dt>Started</dt>")
	assert.Error(t, HTML(&bytes.Buffer{}, nil))
}

var tagRE = regexp.MustCompile(`<(/?[A-Za-z!][A-Za-z0-9-]*)`)

// htmlFuzzReport puts the three strings in every field the page shows; each is prefixed so that no
// value is empty and the page's structure depends on nothing but the strings' escaping.
func htmlFuzzReport(title, msg, decoded string) *harness.Report {
	title, msg, decoded = "t"+title, "m"+msg, "d"+decoded
	return &harness.Report{Target: title, PICS: map[string]bool{msg: true}, Results: []harness.Result{{
		ID: title, Title: title, Section: msg, TestPlan: msg, Outcome: harness.Fail, Message: msg, PICS: []string{msg},
		Failures:  []harness.Failure{{Message: msg, Expected: decoded, Actual: title, Section: msg, Rule: msg}},
		Warnings:  []harness.Failure{{Message: msg}},
		Exchanges: []harness.ExchangeRecord{{Request: title, RequestHex: decoded, Decoded: decoded, Status: msg}},
		Log:       []string{decoded},
	}}}
}

func FuzzHTML(f *testing.F) {
	f.Add("title", "message", "decoded")
	f.Add(hostile, "</pre><script>x</script>", "\"'><img src=x onerror=alert(1)>")
	f.Add("{{.Target}}", "<!-- ", "]]><![CDATA[")
	baseline := tagRE.FindAllString(htmlOf(f, htmlFuzzReport("", "", "")), -1)
	f.Fuzz(func(t *testing.T, title, msg, decoded string) {
		var b bytes.Buffer
		if err := HTML(&b, htmlFuzzReport(title, msg, decoded)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !utf8.ValidString(out) {
			t.Fatal("output is not valid UTF-8")
		}
		// Whatever the text, the page has exactly the tags of the page with plain text: nothing a
		// target sends becomes markup.
		if got := tagRE.FindAllString(out, -1); !slices.Equal(got, baseline) {
			t.Fatalf("the text changed the page's markup:\n%v\n%v", got, baseline)
		}
	})
}
