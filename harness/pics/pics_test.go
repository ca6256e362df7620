package pics

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFile writes content to a file in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func messages(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func TestTheCITextFileLoadsWithDuplicatesCommentsAndKnobs(t *testing.T) {
	set, warns, err := Load("testdata/ci-pics-values.txt")
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{
		"MCORE.OTA.PROVIDER": true, "MCORE.OTA.HTTPS": false,
		"OTAP.S.M.DELAYEDACTIONTIME": true, "OTAP.S.M.USERCONSENTNEEDED": true,
		"MCORE.BDX.SENDER": true, "MCORE.BDX.RESPONDER": true, "MCORE.BDX.SYNCHRONOUSSENDER": true,
		"MCORE.BDX.ASYNCHRONOUSSENDER": false,
	}, set.Map(), "PICS_* knobs are not codes; the later AsynchronousSender=0 wins")
	require.Len(t, warns, 1, "a repeated code with the same value is not worth a warning: %v", messages(warns))
	assert.Equal(t, "testdata/ci-pics-values.txt:15: MCORE.BDX.AsynchronousSender: 0 overrides MCORE.BDX.AsynchronousSender=1 from testdata/ci-pics-values.txt:14 (later definitions win)", warns[0].String())
	v, ok := set.PIXIT("pixit.otap.busy_delay_s")
	assert.True(t, ok)
	assert.Equal(t, "180", v)
	assert.False(t, set.Get("PICS_SKIP_SAMPLE_APP"))
}

func TestTextRules(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]bool
		warns   int
		errLine int    // 0: no error expected
		errHas  string // substring of the error
	}{
		{name: "true and false are accepted with a warning", in: "A.B=true\nC.D=FALSE\n", want: map[string]bool{"A.B": true, "C.D": false}, warns: 2},
		{name: "CRLF line endings, blank lines and trailing comments are fine", in: "\r\n# c\r\nA.B = 1 # yes\r\n\r\nC=0\r\n", want: map[string]bool{"A.B": true, "C": false}},
		{name: "a UTF-8 byte order mark is skipped", in: "\xEF\xBB\xBFA.B=1\n", want: map[string]bool{"A.B": true}},
		{name: "a missing final newline is fine", in: "A.B=1", want: map[string]bool{"A.B": true}},
		{name: "a knob with any value is ignored", in: "PICS_USER_PROMPT=maybe\nA=1\n", want: map[string]bool{"A": true}},
		{name: "a PIXIT line with a number is a PIXIT, not a code", in: "PIXIT.X.Y=42\n", want: map[string]bool{}},
		{name: "a line without '=' is an error naming the line", in: "A=1\n\nMCORE.OTA.Provider\n", errLine: 3, errHas: `"MCORE.OTA.Provider" is not CODE=VALUE`},
		{name: "a value other than 1 or 0 is an error naming the line and code", in: "A=1\nMCORE.OTA.Provider=yes\n", errLine: 2, errHas: `MCORE.OTA.Provider: value "yes" is not 1 or 0`},
		{name: "the line splits at the first '=' so a second one spoils the value", in: "A=1=1\n", errLine: 1, errHas: `value "1=1"`},
		{name: "an empty value is an error", in: "A=\n", errLine: 1, errHas: `value ""`},
		{name: "an empty code is an error", in: " = 1\n", errLine: 1, errHas: "empty code"},
		{name: "a code with a space inside is an error naming the column", in: "MCORE OTA=1\n", errLine: 1, errHas: `" " at column 6`},
		{name: "a PICS expression is not a declaration", in: "!MCORE.OTA.HTTPS=1\n", errLine: 1, errHas: `"!" at column 1`},
		{name: "a control character in a code is an error", in: "A\x00B=1\n", errLine: 1, errHas: `"\x00" at column 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &builder{}
			err := parseText(b, "lab.txt", []byte(tt.in))
			if tt.errLine > 0 {
				var pe *ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "lab.txt", pe.File)
				assert.Equal(t, tt.errLine, pe.Line)
				assert.Contains(t, err.Error(), tt.errHas)
				assert.Contains(t, err.Error(), "lab.txt:")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, lowerless(b.set.Map(), tt.want))
			assert.Len(t, b.warnings, tt.warns, "%v", messages(b.warnings))
		})
	}
}

// lowerless maps the upper-cased keys of got back to the spelling used in want, for readable tables.
func lowerless(got, want map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range got {
		name := k
		for w := range want {
			if strings.EqualFold(w, k) {
				name = w
			}
		}
		out[name] = v
	}
	return out
}

func TestTheClusterXMLFileLoadsEveryPicsItemAndKeepsSuppliedPIXITs(t *testing.T) {
	set, warns, err := Load("testdata/ota-cluster.xml")
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Equal(t, map[string]bool{
		"OTAP.S": true, "OTAR.C": false, "OTAP.S.C00.RSP": true,
		"OTAP.S.M.DELAYEDACTIONTIME": true, "OTAP.S.M.USERCONSENTNEEDED": false,
	}, set.Map())
	v, ok := set.PIXIT("PIXIT.OTAP.PROVIDER_ENDPOINT")
	assert.True(t, ok)
	assert.Equal(t, "0", v)
	for _, placeholder := range []string{"PIXIT.OTAP.BUSY_DELAY_S", "PIXIT.OTAP.APPLY_DELAY_S", "PIXIT.OTAP.NEVER_MENTIONED"} {
		_, ok := set.PIXIT(placeholder)
		assert.False(t, ok, "%s holds a placeholder (0x00, n/a) or nothing: not supplied", placeholder)
	}
}

func TestBaseXMLWithAGeneralPICSRootLoads(t *testing.T) {
	set, _, err := Load("testdata/Base.xml")
	require.NoError(t, err)
	assert.True(t, set.Get("MCORE.OTA.Provider"))
	assert.True(t, set.Get("mcore.bdx.synchronoussender"), "lookups ignore case")
	assert.False(t, set.Get("MCORE.OTA.HTTPS"))
	assert.False(t, set.Get("MCORE.OTA.Requestor"), "an unlisted code is false")
	assert.Equal(t, 6, set.Len())
}

func TestXMLErrorsNameTheFileAndTheItem(t *testing.T) {
	item := func(inner string) string {
		return "<?xml version=\"1.0\"?>\n<clusterPICS>\n<usage>\n<picsItem>" + inner + "</picsItem>\n</usage>\n</clusterPICS>\n"
	}
	tests := []struct {
		name   string
		in     string
		line   int
		errHas string
	}{
		{name: "a support value that is not a boolean names the item", in: item("<itemNumber>OTAP.S</itemNumber><support>yes</support>"), line: 4, errHas: `picsItem #1 OTAP.S: support "yes" is not true, false, 1 or 0`},
		{name: "a missing support is an error", in: item("<itemNumber>OTAP.S</itemNumber>"), line: 4, errHas: "picsItem #1: picsItem #1 has 0 support elements"},
		{name: "a missing itemNumber is an error", in: item("<support>true</support>"), line: 4, errHas: "has 0 itemNumber elements"},
		{name: "two support elements are an error", in: item("<itemNumber>A</itemNumber><support>true</support><support>false</support>"), line: 4, errHas: "has 2 support elements"},
		{name: "an empty itemNumber is an error", in: item("<itemNumber> </itemNumber><support>true</support>"), line: 4, errHas: "empty itemNumber"},
		{name: "an itemNumber with a space is an error", in: item("<itemNumber>OTAP S</itemNumber><support>true</support>"), line: 4, errHas: `" " at column 5`},
		{name: "another root element is an error", in: "<?xml version=\"1.0\"?>\n<pics><picsItem/></pics>", line: 2, errHas: "<pics>: root element must be clusterPICS or generalPICS"},
		{name: "malformed XML names the line", in: "<clusterPICS>\n<usage>\n<picsItem></usage>\n</clusterPICS>", line: 3, errHas: "malformed XML"},
		{name: "an XML declaration alone has no root element", in: "<?xml version=\"1.0\"?>\n", errHas: "no root element"},
		{name: "an unsupported encoding is an error", in: "<?xml version=\"1.0\" encoding=\"utf-16\"?>\n<clusterPICS/>", line: 1, errHas: "utf-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseXML(&builder{}, "OTA.xml", []byte(tt.in))
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "OTA.xml", pe.File)
			assert.Equal(t, tt.line, pe.Line, "%v", err)
			assert.Contains(t, err.Error(), tt.errHas)
		})
	}
}

func TestAMalformedPixitItemIsOnlyAWarning(t *testing.T) {
	b := &builder{}
	err := parseXML(b, "x.xml", []byte(`<clusterPICS><pixit><pixitItem><support>5</support></pixitItem></pixit></clusterPICS>`))
	require.NoError(t, err)
	require.Len(t, b.warnings, 1)
	assert.Contains(t, b.warnings[0].String(), "ignored: pixitItem #1 has 0 itemNumber elements")
}

func TestAFileIsSniffedByItsFirstNonBlankByte(t *testing.T) {
	xmlInTxt := writeFile(t, "pics.txt", "\n  <clusterPICS><picsItem><itemNumber>A</itemNumber><support>1</support></picsItem></clusterPICS>")
	textInXML := writeFile(t, "pics.xml", "A=0\n")
	set, _, err := Load(xmlInTxt)
	require.NoError(t, err)
	assert.True(t, set.Get("A"))
	set, _, err = Load(textInXML)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"A": false}, set.Map())
}

func TestADirectoryReadsTheTopLevelThenTheEndpointFolder(t *testing.T) {
	tests := []struct {
		name     string
		endpoint int
		want     map[string]bool
		warnHas  string
	}{
		{name: "endpoint 0 by default adds EP0's cluster file", endpoint: 0, want: map[string]bool{
			"OTAP.S.M.DELAYEDACTIONTIME": true, "OTAP.S.M.USERCONSENTNEEDED": true, "MCORE.OTA.HTTPS": false}},
		{name: "endpoint 1 overrides a node-level answer", endpoint: 1, want: map[string]bool{
			"OTAP.S.M.DELAYEDACTIONTIME": false, "MCORE.OTA.HTTPS": true}, warnHas: "1 overrides MCORE.OTA.HTTPS=0 from testdata/device/Base.xml:6"},
		{name: "a missing endpoint folder leaves only the top level, with a warning", endpoint: 7, want: map[string]bool{
			"MCORE.OTA.HTTPS": false, "MCORE.OTA.PROVIDER": true}, warnHas: "no folder for endpoint 7 among EP0, EP1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, warns, err := Loader{Endpoint: tt.endpoint}.Load("testdata/device")
			require.NoError(t, err)
			m := set.Map()
			for k, v := range tt.want {
				assert.Equal(t, v, m[k], k)
			}
			assert.True(t, set.Get("MCORE.BDX.Sender"), "Base.xml at the top level is always read")
			if tt.endpoint != 0 {
				_, has := m["OTAP.S.M.USERCONSENTNEEDED"]
				assert.False(t, has, "EP0 is not read for another endpoint")
			}
			if tt.warnHas == "" {
				assert.Empty(t, warns)
			} else {
				assert.Contains(t, strings.Join(messages(warns), "\n"), tt.warnHas)
			}
		})
	}
}

// zipOf zips the files of dir under prefix, plus any extra entries.
func zipOf(t *testing.T, dir, prefix string, extra map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	require.NoError(t, fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(os.DirFS(dir), p)
		if err != nil {
			return err
		}
		w, err := zw.Create(prefix + p)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}))
	for name, content := range extra {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return writeFile(t, "pics.zip", buf.String())
}

func TestAZipReadsLikeTheDirectoryItHolds(t *testing.T) {
	want, _, err := Loader{Endpoint: 1}.Load("testdata/device")
	require.NoError(t, err)
	tests := []struct {
		name   string
		prefix string
		extra  map[string]string
	}{
		{name: "a zip of the folder's contents", prefix: ""},
		{name: "a zip of the folder itself, with macOS litter", prefix: "device/", extra: map[string]string{"__MACOSX/device/._Base.xml": "junk", "device/.DS_Store": "junk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := zipOf(t, "testdata/device", tt.prefix, tt.extra)
			got, warns, err := Loader{Endpoint: 1}.Load(p)
			require.NoError(t, err)
			assert.Equal(t, want.Map(), got.Map())
			assert.Equal(t, want.Text(), got.Text())
			require.NotEmpty(t, warns)
			assert.Contains(t, warns[0].File, filepath.Join(filepath.Dir(p), "pics.zip")+"/"+tt.prefix+"EP1/")
		})
	}
}

func TestBadZipsAreErrors(t *testing.T) {
	tests := []struct {
		name   string
		zip    func(t *testing.T) string
		errHas string
	}{
		{name: "an entry that climbs out of the archive", errHas: "not a readable zip", zip: func(t *testing.T) string {
			return zipOf(t, "testdata/device", "", map[string]string{"../evil.xml": "<clusterPICS/>"})
		}},
		{name: "an entry larger than any PICS file", errHas: "larger than", zip: func(t *testing.T) string {
			return zipOf(t, "testdata/device", "", map[string]string{"Huge.xml": "<clusterPICS>" + strings.Repeat(" ", maxFile) + "</clusterPICS>"})
		}},
		{name: "a zip without XML files", errHas: "no PICS XML files", zip: func(t *testing.T) string {
			return zipOf(t, t.TempDir(), "", map[string]string{"notes.txt": "A=1"})
		}},
		{name: "a bad XML file names its path inside the zip", errHas: "pics.zip/EP0/Bad.xml:1", zip: func(t *testing.T) string {
			return zipOf(t, "testdata/device", "", map[string]string{"EP0/Bad.xml": "<clusterPICS><picsItem><itemNumber>A</itemNumber><support>maybe</support></picsItem></clusterPICS>"})
		}},
		{name: "a file named .zip that is not one", errHas: "not a readable zip", zip: func(t *testing.T) string {
			return writeFile(t, "pics.zip", "A=1\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(tt.zip(t))
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, err.Error(), tt.errHas)
		})
	}
}

func TestInputsMergeInOrderAndLaterWins(t *testing.T) {
	text := writeFile(t, "ci.txt", "MCORE.OTA.Provider=1\nOTAP.S.M.DelayedActionTime=0\nmcore.bdx.sender=1\n")
	set, warns, err := Load(text, "testdata/ota-cluster.xml", "testdata/Base.xml")
	require.NoError(t, err)
	assert.True(t, set.Get("OTAP.S.M.DelayedActionTime"), "the XML file came later")
	got := strings.Join(messages(warns), "\n")
	assert.Contains(t, got, "testdata/ota-cluster.xml:15: OTAP.S.M.DelayedActionTime: 1 overrides OTAP.S.M.DelayedActionTime=0 from "+text+":2")
	assert.Contains(t, got, `spelled "MCORE.BDX.Sender" here and "mcore.bdx.sender" in `+text+":3")
	assert.Contains(t, set.Text(), "MCORE.BDX.Sender=1\n", "the spelling of the winning definition is kept")
}

func TestLoadingNothingGivesAnEmptySet(t *testing.T) {
	set, warns, err := Load()
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Equal(t, "", set.Text())
	assert.Equal(t, map[string]bool{}, set.Map())
	assert.False(t, Set{}.Get("anything"), "the zero Set is usable")
}

func TestAMissingPathIsAnError(t *testing.T) {
	_, _, err := Load("testdata/no-such-file.txt")
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist))
	assert.Contains(t, err.Error(), "testdata/no-such-file.txt")
}

func TestTextIsSortedAndReadsBackToTheSameSet(t *testing.T) {
	set, _, err := Load("testdata/device", "testdata/ci-pics-values.txt")
	require.NoError(t, err)
	txt := set.Text()
	lines := strings.Split(strings.TrimSuffix(txt, "\n"), "\n")
	assert.IsNonDecreasing(t, upperAll(lines))
	again, warns, err := Load(writeFile(t, "echo.txt", txt))
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Equal(t, set.Map(), again.Map())
	assert.Equal(t, txt, again.Text())
}

func upperAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToUpper(s)
	}
	return out
}

func TestMapIsACopy(t *testing.T) {
	set, _, err := Load("testdata/Base.xml")
	require.NoError(t, err)
	m := set.Map()
	m["MCORE.OTA.PROVIDER"] = false
	assert.True(t, set.Get("MCORE.OTA.Provider"))
}

func TestCaseMismatchesPointsAtDifferentCapitals(t *testing.T) {
	set, _, err := Load(writeFile(t, "ci.txt", "mcore.ota.provider=1\nMCORE.OTA.HTTPS=0\n"))
	require.NoError(t, err)
	ws := set.CaseMismatches("MCORE.OTA.Provider", "MCORE.OTA.HTTPS", "OTAP.S.M.UserConsentNeeded")
	require.Len(t, ws, 1, "same spelling and unlisted codes are fine")
	assert.Equal(t, 1, ws[0].Line)
	assert.True(t, strings.HasSuffix(ws[0].String(), `ci.txt:1: mcore.ota.provider: declared as "mcore.ota.provider", used as "MCORE.OTA.Provider"; matched ignoring case`), ws[0].String())
	assert.True(t, set.Get("MCORE.OTA.Provider"))
}

func TestAFolderThatIsNoEndpointIsIgnoredWithAWarning(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "endpoint0"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "Drafts"), 0o755))
	x := func(code, v string) string {
		return "<clusterPICS><picsItem><itemNumber>" + code + "</itemNumber><support>" + v + "</support></picsItem></clusterPICS>"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "endpoint0", "OTA.xml"), []byte(x("OTAP.S", "true")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Drafts", "OTA.xml"), []byte(x("OTAP.S", "false")), 0o644))
	set, warns, err := Load(dir)
	require.NoError(t, err)
	assert.True(t, set.Get("OTAP.S"), "endpoint0 is read, Drafts is not")
	require.Len(t, warns, 1)
	assert.Equal(t, dir+"/Drafts: folder ignored: not an endpoint folder (endpointN, EPN or N)", warns[0].String())
}
