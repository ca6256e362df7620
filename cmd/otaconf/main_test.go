package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is one in-process run of otaconf.
type result struct {
	code           int
	stdout, stderr string
}

func otaconf(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// requireOneErrorLine checks the error contract: exactly one line, "otaconf: ...", on stderr.
func requireOneErrorLine(t *testing.T, r result) string {
	t.Helper()
	require.True(t, strings.HasPrefix(r.stderr, "otaconf: "), "stderr %q", r.stderr)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "stderr must be one line: %q", r.stderr)
	return r.stderr
}

func TestUsageErrorsExitWithStatus2(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"no command at all", nil},
		{"an unknown command", []string{"frobnicate"}},
		{"a group without its subcommand", []string{"tlv"}},
		{"an unknown subcommand of a group", []string{"tlv", "decod", "15"}},
		{"an unknown flag", []string{"tlv", "decode", "--bogus", "18"}},
		{"too many arguments", []string{"tlv", "decode", "15", "18"}},
		{"image create without its required flags", []string{"image", "create", "--vendor-id", "1"}},
		{"a vendor id above 16 bits", []string{"image", "create", "--vendor-id", "0x10000", "--product-id", "1", "--version", "1", "--version-string", "1", "--payload", "p", "-o", "o"}},
		{"a version that is not a number", []string{"image", "create", "--vendor-id", "1", "--product-id", "1", "--version", "v2", "--version-string", "1", "--payload", "p", "-o", "o"}},
		{"an unknown digest", []string{"image", "create", "--vendor-id", "1", "--product-id", "1", "--version", "1", "--version-string", "1", "--digest", "md5", "--payload", "p", "-o", "o"}},
		{"inspect of a file that does not exist", []string{"image", "inspect", filepath.Join(t.TempDir(), "nope.ota")}},
		{"decode with no input", []string{"tlv", "decode", " "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := otaconf(t, "", c.args...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			requireOneErrorLine(t, r)
		})
	}
}

func TestHelpExitsWith0(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"tlv", "decode", "--help"}, {"image", "--help"}} {
		r := otaconf(t, "", args...)
		assert.Equal(t, exitOK, r.code)
		assert.Contains(t, r.stdout, "Usage:")
		assert.Empty(t, r.stderr)
	}
}

func TestTLVDecode(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"a structure given as an argument prints in the spec's notation", "", []string{"tlv", "decode", "15 2C 01 05 68 65 6C 6C 6F 24 02 2A 18"},
			"{1 = \"hello\", 2 = 42U}\n"},
		{"hex on stdin with colons, newlines and 0x prefixes", "0x15:24:01:2A\n0x18\n", []string{"tlv", "decode"}, "{1 = 42U}\n"},
		{"a dash reads stdin", "0400", []string{"tlv", "decode", "-"}, "0U\n"},
		{"every top-level element is printed", "", []string{"tlv", "decode", "0401 0c0161"}, "1U\n\"a\"\n"},
		{"--json prints one JSON value per element and line", "", []string{"tlv", "decode", "--json", "0401 2401ff"},
			"{\"type\":\"uint\",\"value\":1}\n{\"tag\":\"1\",\"type\":\"uint\",\"value\":255}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := otaconf(t, c.stdin, c.args...)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			assert.Equal(t, c.want, r.stdout)
			assert.Empty(t, r.stderr, "quiet by default")
		})
	}
}

func TestTLVDecodeOfMalformedInputExitsWith1(t *testing.T) {
	cases := []struct {
		name, hex, want string
	}{
		{"a string running past the input names its byte", "15 2C 01 09 68 65 18", "byte 1"},
		{"a reserved element type names its byte", "15 24 01 2A 1F 18", "byte 4"},
		{"a structure without its end names its byte", "15 24 01 2A", "byte 0"},
		{"an odd number of hex digits", "15 2", "odd number of hex digits"},
		{"a character that is not hex", "15 zz 18", "input character 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := otaconf(t, "", "tlv", "decode", c.hex)
			assert.Equal(t, exitFailed, r.code)
			line := requireOneErrorLine(t, r)
			assert.Contains(t, line, c.want)
		})
	}
}

func TestTLVDecodeCheck(t *testing.T) {
	t.Run("a canonical input has no findings", func(t *testing.T) {
		r := otaconf(t, "", "tlv", "decode", "--check", "15 24 01 2A 18")
		assert.Equal(t, exitOK, r.code, r.stderr)
		assert.NotContains(t, r.stdout, "check:")
	})
	t.Run("a non-minimal integer is a finding and exit status 1", func(t *testing.T) {
		r := otaconf(t, "", "tlv", "decode", "--check", "15 25 01 2A 00 18")
		assert.Equal(t, exitFailed, r.code)
		assert.Contains(t, r.stdout, "{1 = 42U}\n")
		assert.Contains(t, r.stdout, "check: byte 1 ($.1): non-minimal-int")
		assert.Contains(t, requireOneErrorLine(t, r), "1 finding")
	})
	t.Run("with --json the findings go to stderr so stdout stays JSON", func(t *testing.T) {
		r := otaconf(t, "", "tlv", "decode", "--check", "--json", "25 01 2A 00")
		assert.Equal(t, exitFailed, r.code)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
		assert.Contains(t, r.stderr, "check: byte 0")
	})
}

// specExamples are the TLV examples of the Core spec appendix, shared with the tlv package's tests.
func specExamples(t *testing.T) []string {
	data, err := os.ReadFile("../../tlv/testdata/tlv_spec_examples.json")
	require.NoError(t, err)
	var doc struct {
		Examples []struct {
			Hex string `json:"hex"`
		} `json:"examples"`
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	var out []string
	for _, e := range doc.Examples {
		out = append(out, e.Hex)
	}
	require.NotEmpty(t, out)
	return out
}

func TestTLVDecodeJSONThenEncodeReproducesTheInput(t *testing.T) {
	inputs := append(specExamples(t),
		"15 2c 01 05 68656c6c6f 24 02 2a 18 0401", // two top-level elements
		"1525012a0018",                                       // a non-minimal width survives too
		"d5 f1ff 0100 0100 24 01 2a 18",                      // a fully-qualified tag
		"153600 1724 0101 18 1518 18 18 0b 0000000000000000", // nested containers and a float
	)
	for _, in := range inputs {
		t.Run(strings.ReplaceAll(in, " ", ""), func(t *testing.T) {
			dec := otaconf(t, "", "tlv", "decode", "--json", in)
			require.Equal(t, exitOK, dec.code, dec.stderr)
			enc := otaconf(t, dec.stdout, "tlv", "encode")
			require.Equal(t, exitOK, enc.code, enc.stderr)
			want, err := parseHex(in)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(want)+"\n", enc.stdout)
		})
	}
}

func TestTLVEncode(t *testing.T) {
	t.Run("an array of elements and a file argument", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.json")
		require.NoError(t, os.WriteFile(path, []byte(`[{"type":"uint","value":1},{"type":"utf8","value":"a"}]`), 0o600))
		r := otaconf(t, "", "tlv", "encode", path)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, "04010c0161\n", r.stdout)
	})
	t.Run("--raw writes binary", func(t *testing.T) {
		r := otaconf(t, `{"type":"struct","value":[{"tag":"1","type":"bool","value":true}]}`, "tlv", "encode", "--raw", "-")
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, []byte{0x15, 0x29, 0x01, 0x18}, []byte(r.stdout))
	})
	t.Run("malformed JSON exits 1 naming the byte", func(t *testing.T) {
		r := otaconf(t, `{"type":"uint","value":1}  {"type": }`, "tlv", "encode")
		assert.Equal(t, exitFailed, r.code)
		assert.Contains(t, requireOneErrorLine(t, r), "JSON value 2: byte")
	})
	t.Run("an element of an unknown type exits 1 naming it", func(t *testing.T) {
		r := otaconf(t, `{"tag":"3","type":"uint128","value":1}`, "tlv", "encode")
		assert.Equal(t, exitFailed, r.code)
		assert.Contains(t, requireOneErrorLine(t, r), `unknown type "uint128"`)
	})
	t.Run("an anonymous member of a structure exits 1", func(t *testing.T) {
		r := otaconf(t, `{"type":"struct","value":[{"type":"uint","value":1}]}`, "tlv", "encode")
		assert.Equal(t, exitFailed, r.code)
		assert.Contains(t, requireOneErrorLine(t, r), "anonymous")
	})
	t.Run("empty input is a usage error", func(t *testing.T) {
		r := otaconf(t, "\n", "tlv", "encode")
		assert.Equal(t, exitUsage, r.code)
		requireOneErrorLine(t, r)
	})
}

// createImage runs image create on a 5000-byte payload and returns the image path.
func createImage(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	payload := filepath.Join(dir, "fw.bin")
	p := make([]byte, 5000)
	for i := range p {
		p[i] = byte(i % 251)
	}
	require.NoError(t, os.WriteFile(payload, p, 0o600))
	out := filepath.Join(dir, "fw.ota")
	args := append([]string{"image", "create", "--vendor-id", "0xFFF1", "--product-id", "32768", "--version", "0x10002",
		"--version-string", "1.0.2", "--payload", payload, "-o", out}, extra...)
	r := otaconf(t, "", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "wrote "+out)
	assert.Empty(t, r.stderr)
	return out
}

func TestImageCreateThenInspect(t *testing.T) {
	path := createImage(t, "--min-version", "0", "--max-version", "0x10001", "--release-notes-url", "https://example.com/1.0.2", "--digest", "sha512")
	r := otaconf(t, "", "image", "inspect", path)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, want := range []string{"VendorID", "0xFFF1 (65521)", "0x8000 (32768)", "65538 (0x10002)", `"1.0.2"`, "PayloadSize                   5000",
		"MinApplicableSoftwareVersion  0 (0x0)", "65537 (0x10001)", `"https://example.com/1.0.2"`, "8 (sha-512)", "Verified"} {
		assert.Contains(t, r.stdout, want)
	}
	assert.Empty(t, r.stderr)

	j := otaconf(t, "", "image", "inspect", "--json", path)
	require.Equal(t, exitOK, j.code, j.stderr)
	var v struct {
		OK     bool `json:"ok"`
		Header struct {
			VendorID        uint16 `json:"vendor_id"`
			ImageDigestType uint8  `json:"image_digest_type"`
		} `json:"header"`
		Problems []any `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(j.stdout), &v))
	assert.True(t, v.OK)
	assert.Equal(t, uint16(0xFFF1), v.Header.VendorID)
	assert.Equal(t, uint8(8), v.Header.ImageDigestType)
	assert.Empty(t, v.Problems)
}

func TestImageInspectOfDamagedImagesExitsWith1(t *testing.T) {
	path := createImage(t)
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-100] ^= 0x40
	cases := []struct {
		name  string
		bytes []byte
		want  string
	}{
		{"one flipped payload byte names the digest", flipped, "digest"},
		{"a truncated file says so", good[:len(good)-1], "truncated"},
		{"a file cut inside the header says so", good[:30], "truncated"},
		{"bytes after the payload say so", append(bytes.Clone(good), 0), "trailing data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.ota")
			require.NoError(t, os.WriteFile(bad, c.bytes, 0o600))
			r := otaconf(t, "", "image", "inspect", bad)
			assert.Equal(t, exitFailed, r.code)
			assert.Contains(t, requireOneErrorLine(t, r), c.want)
			assert.Contains(t, r.stdout, "problem(s):")

			j := otaconf(t, "", "image", "inspect", "--json", bad)
			assert.Equal(t, exitFailed, j.code)
			var v struct {
				OK       bool `json:"ok"`
				Problems []struct {
					Message string `json:"message"`
				} `json:"problems"`
			}
			require.NoError(t, json.Unmarshal([]byte(j.stdout), &v))
			assert.False(t, v.OK)
			require.NotEmpty(t, v.Problems)
			assert.Contains(t, v.Problems[0].Message, c.want)
		})
	}
}

func TestImageCreateRejectsAnInvalidHeader(t *testing.T) {
	dir := t.TempDir()
	payload := filepath.Join(dir, "fw.bin")
	require.NoError(t, os.WriteFile(payload, []byte("x"), 0o600))
	cases := []struct {
		name, flag, value, want string
	}{
		{"a version string of 65 bytes", "--version-string", strings.Repeat("1", 65), "SoftwareVersionString"},
		{"an empty version string", "--version-string", "", "SoftwareVersionString"},
		{"an http release notes URL", "--release-notes-url", "http://example.com", "ReleaseNotesURL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "x.ota")
			args := []string{"image", "create", "--vendor-id", "1", "--product-id", "1", "--version", "1", "--version-string", "1", "--payload", payload, "-o", out}
			args = append(args, c.flag, c.value) // the later flag wins
			r := otaconf(t, "", args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, requireOneErrorLine(t, r), c.want)
			assert.NoFileExists(t, out)
		})
	}
	t.Run("a missing payload file", func(t *testing.T) {
		r := otaconf(t, "", "image", "create", "--vendor-id", "1", "--product-id", "1", "--version", "1", "--version-string", "1", "--payload", filepath.Join(dir, "nope"), "-o", filepath.Join(dir, "y.ota"))
		assert.Equal(t, exitUsage, r.code)
		assert.Contains(t, requireOneErrorLine(t, r), "nope")
	})
}

func TestVerboseLogsToStderr(t *testing.T) {
	r := otaconf(t, "", "--verbose", "tlv", "decode", "0401")
	require.Equal(t, exitOK, r.code)
	assert.Equal(t, "1U\n", r.stdout)
	assert.Contains(t, r.stderr, "level=DEBUG")
	assert.Contains(t, r.stderr, "decoding TLV")
}

func TestACancelledContextStopsInspect(t *testing.T) {
	path := createImage(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"image", "inspect", path}, strings.NewReader(""), &out, &errOut)
	assert.NotEqual(t, exitOK, code)
	assert.Contains(t, errOut.String(), "context canceled")
}

func TestStatusOnlyErrorsPrintNothing(t *testing.T) {
	assert.Equal(t, "", errorLine(exitError(exitFailed, nil)))
	assert.Equal(t, exitFailed, exitCode(exitError(exitFailed, nil)))
	assert.Equal(t, "a; b", oneLine("a\n  b\n"))
}
