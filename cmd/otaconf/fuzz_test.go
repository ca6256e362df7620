package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/harness/adapter"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
)

// fuzzCLI runs otaconf with args like run does, with the fuzz command registered (whether or not
// the root registers it itself).
func fuzzCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := newRoot()
	if c, _, err := root.Find([]string{"fuzz"}); err != nil || c.Name() != "fuzz" {
		root.AddCommand(newFuzzCmd())
	}
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(""))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(t.Context())
	code = exitOK
	if err != nil {
		code = exitCode(err)
		if line := errorLine(err); line != "" {
			fmt.Fprintf(&errOut, "otaconf: %s\n", line)
		}
	}
	return code, out.String(), errOut.String()
}

// TestFuzzHelperProvider is not a test: run as a child with OTACONF_FUZZ_HELPER set, it serves the
// reference provider over the adapter protocol, answering every offer with a 7-octet UpdateToken.
func TestFuzzHelperProvider(t *testing.T) {
	if os.Getenv("OTACONF_FUZZ_HELPER") == "" {
		t.Skip("a helper process for the fuzz tests")
	}
	p, _, err := newReference(context.Background(), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = adapter.Serve(context.Background(), os.Stdin, os.Stdout, shortTokens{p}, adapter.ServeOptions{Fabrics: []uint8{1, 2}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

type shortTokens struct{ *reference.Provider }

func (s shortTokens) Invoke(ctx context.Context, r ota.Requestor, ep uint16, cl uint32, cmd ota.CommandID, fields []byte) ota.Response {
	resp := s.Provider.Invoke(ctx, r, ep, cl, cmd, fields)
	if resp.HasCommand && resp.Command == ota.CmdQueryImageResponse {
		qr, _ := ota.DecodeQueryImageResponse(resp.Fields)
		if len(qr.UpdateToken) > 7 {
			qr.UpdateToken = qr.UpdateToken[:7]
			resp, _ = ota.CommandResponse(qr)
		}
	}
	return resp
}

func (s shortTokens) OpenBDX(r ota.Requestor) bdx.Session { return s.Provider.OpenBDX(r) }

func shortTokenTarget() string {
	return fmt.Sprintf("exec:OTACONF_FUZZ_HELPER=1 exec %q -test.run=^TestFuzzHelperProvider$", os.Args[0])
}

func TestFuzzAgainstTheReferenceFindsNothingAndExits0(t *testing.T) {
	dir := t.TempDir()
	out, junit, js := filepath.Join(dir, "findings"), filepath.Join(dir, "f.xml"), filepath.Join(dir, "f.json")
	code, stdout, stderr := fuzzCLI(t, "fuzz", "--iterations", "300", "--seed", "5", "--out", out, "--junit", junit, "--json", js)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stderr, "seed 5")
	require.Contains(t, stdout, "fuzz: 300 inputs")
	require.Contains(t, stdout, "no findings")
	require.NoDirExists(t, out, "the findings directory is created only when something is found")

	b, err := os.ReadFile(junit)
	require.NoError(t, err)
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b, &suites))
	require.Len(t, suites.Suites, 1)
	require.Len(t, suites.Suites[0].Cases, 1)
	require.Nil(t, suites.Suites[0].Cases[0].Failure)
	b, err = os.ReadFile(js)
	require.NoError(t, err)
	require.True(t, json.Valid(b))
}

func TestFuzzFindsADefectWritesItAndReplaysIt(t *testing.T) {
	dir := t.TempDir()
	out, junit, js := filepath.Join(dir, "findings"), filepath.Join(dir, "f.xml"), filepath.Join(dir, "f.json")
	target := shortTokenTarget()
	code, stdout, stderr := fuzzCLI(t, "fuzz", "--target", target, "--iterations", "100", "--seed", "1", "--out", out, "--junit", junit, "--json", js)
	require.Equal(t, exitFailed, code, stdout+stderr)
	require.Contains(t, stdout, "1 findings (response-rule 1)")
	require.Contains(t, stdout, "QueryImageResponse.UpdateToken: length 7, below the minimum 8 octets")
	file := filepath.Join(out, "finding-1-response-rule.json")
	require.FileExists(t, file)
	require.Contains(t, stdout, "replay: otaconf fuzz --replay "+filepath.ToSlash(file))

	b, err := os.ReadFile(junit)
	require.NoError(t, err)
	require.Contains(t, string(b), "fuzz/response-rule/1")
	require.Contains(t, string(b), "<failure")
	b, err = os.ReadFile(js)
	require.NoError(t, err)
	require.Contains(t, string(b), `"outcome": "fail"`)

	t.Run("the replay against the same provider reproduces it", func(t *testing.T) {
		code, stdout, stderr := fuzzCLI(t, "fuzz", "--replay", file, "--target", target)
		require.Equal(t, exitFailed, code, stdout+stderr)
		require.Contains(t, stdout, "reproduced: MUST response-rule: QueryImageResponse.UpdateToken")
	})
	t.Run("the replay against the reference does not", func(t *testing.T) {
		code, stdout, stderr := fuzzCLI(t, "fuzz", "--replay", file)
		require.Equal(t, exitOK, code, stdout+stderr)
		require.Contains(t, stdout, "not reproduced: all 1 steps answered as required")
	})
}

func TestFuzzUsageErrorsExitWith2AndAnUnreachableTargetWith3(t *testing.T) {
	for _, args := range [][]string{
		{"fuzz", "--duration", "1s", "--iterations", "5"},
		{"fuzz", "--iterations", "-5"},
		{"fuzz", "--duration", "0s"},
		{"fuzz", "--timeout", "0s", "--iterations", "5"},
		{"fuzz", "--target", "udp://nowhere", "--iterations", "5"},
		{"fuzz", "--replay", filepath.Join(t.TempDir(), "missing.json")},
		{"fuzz", "extra-argument"},
	} {
		code, stdout, stderr := fuzzCLI(t, args...)
		require.Equal(t, exitUsage, code, "%v: %s%s", args, stdout, stderr)
		require.Equal(t, 1, strings.Count(stderr, "otaconf: "), "one error line: %q", stderr)
	}
	code, stdout, stderr := fuzzCLI(t, "fuzz", "--target", "exec:exit 1", "--iterations", "5")
	require.Equal(t, exitUnreachable, code, stdout+stderr)
	require.Contains(t, stderr, "target unreachable")
}
