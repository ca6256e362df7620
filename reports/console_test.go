package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func console(rep *harness.Report, opts ConsoleOptions) string {
	var b bytes.Buffer
	Console(&b, rep, opts)
	return b.String()
}

func TestConsoleGoldenFiles(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts ConsoleOptions
	}{
		{name: "the plain listing", file: "console.golden", opts: ConsoleOptions{}},
		{name: "the verbose listing with exchanges and PICS", file: "console_verbose.golden", opts: ConsoleOptions{Verbose: true}},
		{name: "the coloured listing", file: "console_color.golden", opts: ConsoleOptions{Color: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.file, []byte(console(fixture(), tt.opts)))
		})
	}
}

func TestConsoleNeverPassesControlCharactersFromTheTargetToTheTerminal(t *testing.T) {
	for _, opts := range []ConsoleOptions{{}, {Verbose: true}, {Color: true, Verbose: true}} {
		out := console(fixture(), opts)
		require.True(t, utf8.ValidString(out), "output is valid UTF-8")
		plain := sgr.ReplaceAllString(out, "")
		if !opts.Color {
			assert.Equal(t, out, plain, "no colour sequences without Color")
		}
		for i, r := range plain {
			if (r < 0x20 && r != '\n') || r == 0x7F || (r >= 0x80 && r <= 0x9F) || r == 0x202E {
				t.Fatalf("control character %U at byte %d with %+v", r, i, opts)
			}
		}
		assert.Contains(t, plain, `NUL\x00 ESC\x1B[31mred\x1B]0;pwned\x07 bad\xFF ]]> <script>alert(1)</script> CR\rC1\u009B RLO\u202Eevil U+FFFF\uFFFF end`)
	}
}

func TestConsoleListsEveryCaseUnderItsGroupWithTheSummaryLast(t *testing.T) {
	out := console(fixture(), ConsoleOptions{})
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	assert.Equal(t, "  verdict   FAIL (2 failed, 1 error)", lines[len(lines)-1], "the verdict is the last line")
	summaryAt := strings.Index(out, "\nSummary\n")
	require.Positive(t, summaryAt)
	for _, want := range []string{
		"TC-SU-3.2\n  PASS   TC-SU-3.2/1a  UpdateAvailable",
		"\n§11.20.3.2 (§11.20.3.6.1)\n  PASS   11.20.3.2/token-fresh [SHOULD]  Every UpdateAvailable carries a fresh UpdateToken  (850µs, 1 warning)\n",
		"          SHOULD warning: the second offer repeats the first offer's UpdateToken\n",
		"          §11.20.6.5.2.3, test plan TC-SU-3.2 step 3, level MUST\n",
		"              expected: bdx://000000000000000B/otaconf-fff1-8000-v2.ota\n              actual:   bdx://0000000000000002/otaconf-fff1-8000-v2.ota\n              see §11.20.6.5.2.3 rule 4, rule uri.bdx.node-id-provider\n",
		"  SKIP   TC-SU-3.3/2  UserConsentNeeded",
		"          not applicable: PICS OTAP.S.M.UserConsentNeeded is not declared\n",
		"  ERROR  bug/two-requestors",
		"          BDX download did not finish within the case timeout: context deadline exceeded\n",
	} {
		i := strings.Index(out, want)
		assert.True(t, i >= 0 && i < summaryAt, "%q is listed before the summary", want)
	}
	for _, want := range []string{
		"  cases     6 cases: 2 passed, 2 failed, 1 skipped, 1 error; 1 warning\n",
		"  target    lab provider v2\n",
		"  started   2025-03-04 10:11:12 UTC\n",
		"  duration  1.25s\n",
		"  seed      42\n",
		"  mode      default (SHOULD failures are warnings)\n",
	} {
		assert.Greater(t, strings.Index(out, want), summaryAt, "%q is in the summary", want)
	}
	assert.NotContains(t, out, "exchanges:", "exchanges only when verbose")
}

func TestVerboseConsoleShowsTheExchangesOfFailedCasesOnly(t *testing.T) {
	out := console(fixture(), ConsoleOptions{Verbose: true})
	assert.Equal(t, 3, strings.Count(out, "exchanges:"), "the two failed cases and the errored one; not the pass that also has exchanges")
	assert.Contains(t, out, "      [1] step 3, 1/000000000001A001: QueryImage -> QueryImageResponse\n")
	assert.Contains(t, out, "request:  152500F1FF2501008024020136030400182C05025858280618\n")
	assert.Contains(t, out, "response: 152400002C022F6264783A2F2F303030303030303030303030303030322F6F74\n                          61636F6E662D", "hex is wrapped at 64 digits")
	assert.Contains(t, out, "decoded:\n                  {\n                    0 = 0U,\n")
	assert.Contains(t, out, "status:   context deadline exceeded\n")
	assert.Contains(t, out, "Effective PICS\n  MCORE.OTA.HTTPS=0\n  MCORE.OTA.PROVIDER=1\n  OTAP.S.M.DELAYEDACTIONTIME=1\n")
}

func TestColourIsOnlyOurOwnSGRSequences(t *testing.T) {
	out := console(fixture(), ConsoleOptions{Color: true})
	assert.Contains(t, out, "\x1b[1;31mFAIL \x1b[0m")
	assert.Contains(t, out, "\x1b[32mPASS \x1b[0m")
	assert.Contains(t, out, "\x1b[1;31mFAIL (2 failed, 1 error)\x1b[0m")
	assert.NotContains(t, sgr.ReplaceAllString(out, ""), "\x1b")
}

func TestTheVerdictFollowsTheCounts(t *testing.T) {
	tests := []struct {
		name string
		s    harness.Summary
		want string
	}{
		{name: "all passed", s: harness.Summary{Total: 3, Passed: 3}, want: "PASS"},
		{name: "skips and warnings do not fail a run", s: harness.Summary{Total: 3, Passed: 1, Skipped: 2, Warnings: 4}, want: "PASS"},
		{name: "nothing ran", s: harness.Summary{}, want: "PASS (no case ran)"},
		{name: "one failure fails it", s: harness.Summary{Total: 2, Passed: 1, Failed: 1}, want: "FAIL (1 failed)"},
		{name: "errors fail it too", s: harness.Summary{Total: 4, Failed: 2, Errors: 2}, want: "FAIL (2 failed, 2 errors)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, v := verdict(tt.s)
			assert.Equal(t, tt.want, v)
			assert.Equal(t, (&harness.Report{Summary: tt.s}).OK(), ok, "the same verdict as harness.Report.OK")
		})
	}
}

func TestAReportWithoutASummaryIsCountedFromItsResults(t *testing.T) {
	rep := fixture()
	rep.Summary = harness.Summary{}
	rep.Strict = true
	out := console(rep, ConsoleOptions{})
	assert.Contains(t, out, "  cases     6 cases: 2 passed, 2 failed, 1 skipped, 1 error; 1 warning\n")
	assert.Contains(t, out, "  mode      strict (SHOULD failures fail the run)\n")
	assert.Equal(t, "no report\n", console(nil, ConsoleOptions{}))
}

func TestProgressWritesOneLinePerCase(t *testing.T) {
	rep := fixture()
	want := []string{
		"PASS   TC-SU-3.2/1a  UpdateAvailable carries URI, version, version string and an 8..32-byte token (12ms)\n",
		"FAIL   TC-SU-3.2/3  A bdx ImageURI is bdx:// + the provider's node id in 16 uppercase hex + / + designator (3ms): step 3: QueryImageResponse.ImageURI: URI names node 0000000000000002, but the provider is node 000000000000000B on this fabric\n",
		"PASS   11.20.3.2/token-fresh  Every UpdateAvailable carries a fresh UpdateToken (850µs, 1 warning)\n",
		"SKIP   TC-SU-3.3/2  UserConsentNeeded is set when the provider needs the requestor to obtain consent: not applicable: PICS OTAP.S.M.UserConsentNeeded is not declared\n",
		"ERROR  bug/two-requestors  Two requestors downloading at the same time both get the whole image (20.00s): BDX download did not finish within the case timeout: context deadline exceeded\n",
	}
	for i, w := range want {
		t.Run(rep.Results[i].ID, func(t *testing.T) {
			var b bytes.Buffer
			Progress(&b, rep.Results[i])
			assert.Equal(t, w, b.String())
		})
	}
	t.Run("hostile text stays on one line", func(t *testing.T) {
		var b bytes.Buffer
		res := rep.Results[5]
		res.Message = strings.Repeat("long\n", 100) + hostile
		Progress(&b, res)
		line := b.String()
		assert.Equal(t, 1, strings.Count(line, "\n"))
		assert.True(t, strings.HasSuffix(line, "…\n"), "long messages are clipped")
		assert.NotContains(t, line, "\x1b")
		assert.True(t, utf8.ValidString(line))
	})
}

func TestHumanDurations(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {850 * time.Microsecond, "850µs"}, {3400 * time.Microsecond, "3ms"}, {12 * time.Millisecond, "12ms"},
		{1250 * time.Millisecond, "1.25s"}, {123 * time.Second, "2m3s"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, human(tt.d), "%v", tt.d)
	}
}

func TestSanitisingKeepsOrdinaryTextAndEscapesTheRest(t *testing.T) {
	tests := []struct {
		name, in, want, wantLine string
	}{
		{name: "plain ASCII is untouched", in: "QueryImage -> QueryImageResponse", want: "QueryImage -> QueryImageResponse"},
		{name: "non-ASCII letters are untouched", in: "§11.20 µs – ✓ 日本", want: "§11.20 µs – ✓ 日本"},
		{name: "tab and newline stay, but not on one line", in: "a\tb\nc", want: "a\tb\nc", wantLine: `a	b\nc`},
		{name: "C0 controls and DEL become \\xNN", in: "\x00\x01\x1b\x7f\r", want: `\x00\x01\x1B\x7F\r`},
		{name: "invalid UTF-8 bytes become \\xNN", in: "a\xffb\xc3", want: `a\xFFb\xC3`},
		{name: "C1 controls, noncharacters and bidi overrides become \\uNNNN", in: "\u0085\u009b\ufffe\uffff\u202e\u2066", want: `\u0085\u009B\uFFFE\uFFFF\u202E\u2066`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, clean(tt.in))
			if tt.wantLine == "" {
				tt.wantLine = tt.want
			}
			assert.Equal(t, tt.wantLine, cleanLine(tt.in))
		})
	}
}

func TestGroupsKeepRunOrderAndNameSections(t *testing.T) {
	rs := []harness.Result{{ID: "TC-SU-3.2/1", Section: "§1"}, {ID: "11.20.3.2/a", Section: "§11.20.3.2"}, {ID: "TC-SU-3.2/2", Section: "§2"}, {ID: "bug/x", Section: "§3"}, {ID: "plain", Level: ota.LevelInfo}}
	gs := groups(rs)
	var names []string
	for _, g := range gs {
		names = append(names, g.heading())
	}
	assert.Equal(t, []string{"TC-SU-3.2", "§11.20.3.2", "bug (§3)", "plain"}, names)
	assert.Len(t, gs[0].Results, 2)
}
