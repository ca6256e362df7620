package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunWithNoArgumentsPassesAndWritesEveryReport(t *testing.T) {
	dir := t.TempDir()
	junit, js, html := filepath.Join(dir, "j.xml"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	r := otaconf(t, "", "run", "--seed", "7", "--junit", junit, "--json", js, "--html", html)
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "verdict   PASS")
	require.Contains(t, r.stderr, "seed 7")

	list := otaconf(t, "", "list", "--json")
	require.Equal(t, exitOK, list.code)
	var cases []map[string]any
	require.NoError(t, json.Unmarshal([]byte(list.stdout), &cases))
	require.Greater(t, len(cases), 40)

	// JUnit parses as XML and holds one testcase per case.
	b, err := os.ReadFile(junit)
	require.NoError(t, err)
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b, &suites))
	n := 0
	for _, s := range suites.Suites {
		n += len(s.Cases)
	}
	require.Equal(t, len(cases), n)

	b, err = os.ReadFile(js)
	require.NoError(t, err)
	require.Contains(t, string(b), `"outcome": "pass"`)
	b, err = os.ReadFile(html)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(strings.TrimSpace(string(b)), "<!DOCTYPE html>"))
}

func TestRunSelectsCasesAndRejectsBadOptions(t *testing.T) {
	r := otaconf(t, "", "run", "--include", "TC-SU-3.2/", "--exclude", "TC-SU-3.2/5")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "5 cases: 5 passed")

	for _, args := range [][]string{
		{"run", "--include", "no-such-case"},
		{"run", "--target", "udp://nowhere"},
		{"run", "--level", "maybe"},
		{"run", "--scenario", "bogus"},
		{"run", "--pics", filepath.Join(t.TempDir(), "missing.txt")},
		{"run", "--target", "exec:"},
	} {
		r := otaconf(t, "", args...)
		require.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
		requireOneErrorLine(t, r)
	}
}

func TestRunAgainstAnUnreachableExecTargetExitsWith3(t *testing.T) {
	r := otaconf(t, "", "run", "--target", "exec:exit 1", "--timeout", "2s")
	require.Equal(t, exitUnreachable, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "target unreachable")
}

func TestRunHonoursPICSFiles(t *testing.T) {
	pics := filepath.Join(t.TempDir(), "pics.txt")
	require.NoError(t, os.WriteFile(pics, []byte("MCORE.OTA.HTTPS=0 # BDX only\n"), 0o644))
	r := otaconf(t, "", "run", "--include", "TC-SU-3.2/4", "--pics", pics)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "MCORE.OTA.HTTPS")
	require.Contains(t, r.stdout, "1 skipped")
}
