package matterjs

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A READY line as provider.mjs 0.17.9 printed it on this machine (one image).
const sampleReady = `OTACONF_PEER_READY {"port":41662,"endpoint":1,"ipv4":"127.0.0.1","ipv6":"::1","passcode":20202021,` +
	`"discriminator":3840,"vendorId":65521,"productId":32768,"manualPairingCode":"34970112332",` +
	`"qrPairingCode":"MT:Y.K90AFN00KA0648G00","mode":"local","images":[{"file":"/tmp/a.ota",` +
	`"designator":"ota/fff1.8000.local.2","vendorId":65521,"productId":32768,"softwareVersion":2,` +
	`"softwareVersionString":"2.0.0","size":51279}],"storage":"/tmp/st1","pid":9113,"matterjs":"0.17.9","node":"20.20.2"}`

func TestParseReadyAcceptsWhatProviderPrints(t *testing.T) {
	r, err := parseReady([]byte(sampleReady + "\n"))
	require.NoError(t, err)
	assert.Equal(t, uint16(41662), r.Port)
	assert.Equal(t, uint16(1), r.Endpoint)
	assert.Equal(t, ModeLocal, r.Mode)
	require.Len(t, r.Images, 1)
	assert.Equal(t, "ota/fff1.8000.local.2", r.Images[0].Designator)
	assert.Equal(t, int64(51279), r.Images[0].Size)
	assert.Equal(t, 9113, r.PID)
}

func TestParseReadyNamesTheFieldThatIsWrong(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(sampleReady, old) {
			t.Fatalf("sample has no %q", old)
		}
		return strings.Replace(sampleReady, old, new, 1)
	}
	tests := []struct {
		name string
		line string
		want string
	}{
		{"a line without the prefix", "READY {}", "does not start with"},
		{"broken JSON", "OTACONF_PEER_READY {\"port\":", "unexpected EOF"},
		{"a syntax error gives the byte offset in the line", "OTACONF_PEER_READY {\"port\":1,}", "JSON syntax at byte 30"},
		{"a port of the wrong type", replace(`"port":41662`, `"port":"41662"`), `field "port"`},
		{"a port out of range", replace(`"port":41662`, `"port":70000`), `field "port"`},
		{"a zero port", replace(`"port":41662`, `"port":0`), `field "port": missing or 0`},
		{"the root endpoint", replace(`"endpoint":1`, `"endpoint":0`), `field "endpoint"`},
		{"a non-loopback IPv4 address", replace(`"ipv4":"127.0.0.1"`, `"ipv4":"0.0.0.0"`), `field "ipv4"`},
		{"a non-loopback IPv6 address", replace(`"ipv6":"::1"`, `"ipv6":"::"`), `field "ipv6"`},
		{"an unknown mode", replace(`"mode":"local"`, `"mode":"dcl"`), `field "mode"`},
		{"another matter.js version", replace(`"matterjs":"0.17.9"`, `"matterjs":"0.18.0"`), `field "matterjs"`},
		{"a malformed designator", replace(`ota/fff1.8000.local.2`, `../etc/passwd`), `field "images[0].designator"`},
		{"trailing data", sampleReady + " {}", "trailing data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseReady([]byte(tc.line))
			require.ErrorIs(t, err, errBadReady)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func FuzzParseReady(f *testing.F) {
	f.Add([]byte(sampleReady))
	f.Add([]byte(sampleReady + "\r\n"))
	f.Add([]byte(`OTACONF_PEER_READY {"port":1,"endpoint":2,"ipv4":"127.0.0.1","ipv6":"::1","mode":"stock","pid":1,"matterjs":"0.17.9","images":[]}`))
	f.Add([]byte("OTACONF_PEER_READY "))
	f.Add([]byte("OTACONF_PEER_READY null"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := parseReady(line)
		if err != nil {
			if !errors.Is(err, errBadReady) {
				t.Fatalf("error does not wrap errBadReady: %v", err)
			}
			return
		}
		// A record that parsed must survive encode → parse unchanged, and stay valid.
		enc, err := encodeReady(r)
		if err != nil {
			t.Fatalf("encoding an accepted record: %v", err)
		}
		r2, err := parseReady(enc)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", enc, err)
		}
		enc2, err := encodeReady(r2)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(enc2) {
			t.Fatalf("encode→parse→encode not stable:\n%s\n%s", enc, enc2)
		}
	})
}

func FuzzCheckNodeVersion(f *testing.F) {
	for _, s := range []string{"v20.20.2", "v22.13.0", "v21.0.0", "v22.14.0-nightly", "v1.2", "", "v99999999999.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		major, minor, patch, err := parseNodeVersion(s)
		verdict := checkNodeVersion(s)
		if err != nil {
			if verdict == nil {
				t.Fatalf("%q: unparseable but accepted", s)
			}
			return
		}
		// The canonical spelling of a parsed version must parse to the same numbers and get the same
		// verdict: suffixes never change the release ordering.
		canon := "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor) + "." + strconv.Itoa(patch)
		m2, n2, p2, err := parseNodeVersion(canon)
		if err != nil || m2 != major || n2 != minor || p2 != patch {
			t.Fatalf("%q → %s → (%d,%d,%d,%v)", s, canon, m2, n2, p2, err)
		}
		if (checkNodeVersion(canon) == nil) != (verdict == nil) {
			t.Fatalf("%q and %q get different verdicts", s, canon)
		}
	})
}

func BenchmarkParseReady(b *testing.B) {
	line := []byte(sampleReady)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := parseReady(line); err != nil {
			b.Fatal(err)
		}
	}
}
