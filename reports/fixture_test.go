package reports

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./reports/ -update to create it")
	require.Equal(t, string(want), string(got), "output differs from %s; if the change is intended, run go test ./reports/ -update and review the diff", p)
}

const (
	qiHex  = "152500F1FF2501008024020136030400182C05025858280618"
	qirHex = "152400002C022F6264783A2F2F303030303030303030303030303030322F6F7461636F6E662D666666312D383030302D76322E6F74612403022C0403322E303005100102030405060708090A0B0C0D0E0F10280618"
	qirTLV = "{\n  0 = 0U,\n  2 = \"bdx://0000000000000002/otaconf-fff1-8000-v2.ota\",\n  3 = 2U,\n  4 = \"2.0\",\n  5 = hex:0102030405060708090A0B0C0D0E0F10,\n  6 = false,\n}"
	// hostile holds what a misbehaving target can put into messages: NUL, ESC (a terminal colour and a
	// title-setting sequence), an invalid UTF-8 byte, a CDATA terminator, markup, a carriage return,
	// a C1 CSI, a right-to-left override and U+FFFF.
	hostile = "NUL\x00 ESC\x1b[31mred\x1b]0;pwned\x07 bad\xff ]]> <script>alert(1)</script> CR\rC1\u009b RLO\u202Eevil U+FFFF\uffff end"
)

// fixture is a report with one of everything: passes, a SHOULD warning, failures with expected and
// actual, a skip with its reason, an error, exchanges with hex and decoded TLV, and hostile text.
func fixture() *harness.Report {
	ex := harness.ExchangeRecord{Step: "3", Requestor: "1/000000000001A001", Request: "QueryImage", RequestHex: qiHex,
		Response: "QueryImageResponse", ResponseHex: qirHex, Decoded: qirTLV}
	rep := &harness.Report{
		Target:   "lab provider v2",
		Started:  time.Date(2025, 3, 4, 10, 11, 12, 0, time.UTC),
		Duration: 1250 * time.Millisecond,
		Seed:     42,
		Strict:   false,
		PICS:     map[string]bool{"MCORE.OTA.PROVIDER": true, "MCORE.OTA.HTTPS": false, "OTAP.S.M.DELAYEDACTIONTIME": true},
		Results: []harness.Result{
			{ID: "TC-SU-3.2/1a", Title: "UpdateAvailable carries URI, version, version string and an 8..32-byte token", Section: "§11.20.6.5.2",
				TestPlan: "TC-SU-3.2 step 1", Level: ota.LevelMust, PICS: []string{"MCORE.OTA.Provider"}, Outcome: harness.Pass,
				Exchanges: []harness.ExchangeRecord{ex}, Log: []string{"step 1"}, Duration: 12 * time.Millisecond},
			{ID: "TC-SU-3.2/3", Title: "A bdx ImageURI is bdx:// + the provider's node id in 16 uppercase hex + / + designator", Section: "§11.20.6.5.2.3",
				TestPlan: "TC-SU-3.2 step 3", Level: ota.LevelMust, PICS: []string{"MCORE.OTA.Provider"}, Outcome: harness.Fail,
				Message: "step 3: QueryImageResponse.ImageURI: URI names node 0000000000000002, but the provider is node 000000000000000B on this fabric",
				Failures: []harness.Failure{{Level: ota.LevelMust, Rule: "uri.bdx.node-id-provider", Section: "§11.20.6.5.2.3 rule 4",
					Expected: "bdx://000000000000000B/otaconf-fff1-8000-v2.ota", Actual: "bdx://0000000000000002/otaconf-fff1-8000-v2.ota",
					Message: "step 3: QueryImageResponse.ImageURI: URI names node 0000000000000002, but the provider is node 000000000000000B on this fabric"}},
				Exchanges: []harness.ExchangeRecord{ex}, Log: []string{"step 3"}, Duration: 3400 * time.Microsecond},
			{ID: "11.20.3.2/token-fresh", Title: "Every UpdateAvailable carries a fresh UpdateToken", Section: "§11.20.3.6.1",
				Level: ota.LevelShould, PICS: []string{"MCORE.OTA.Provider"}, Outcome: harness.Pass,
				Warnings: []harness.Failure{{Level: ota.LevelShould, Rule: "qir.token.fresh", Section: "§11.20.3.6.1",
					Expected: "a token not seen before", Actual: "0102030405060708090A0B0C0D0E0F10 (as in the first offer)",
					Message: "the second offer repeats the first offer's UpdateToken"}},
				Duration: 850 * time.Microsecond},
			{ID: "TC-SU-3.3/2", Title: "UserConsentNeeded is set when the provider needs the requestor to obtain consent", Section: "§11.20.3.4",
				TestPlan: "TC-SU-3.3 step 2", Level: ota.LevelMust, PICS: []string{"MCORE.OTA.Provider", "OTAP.S.M.UserConsentNeeded"}, Outcome: harness.Skip,
				Message: "not applicable: PICS OTAP.S.M.UserConsentNeeded is not declared"},
			{ID: "bug/two-requestors", Title: "Two requestors downloading at the same time both get the whole image", Section: "§11.20.3.5",
				TestPlan: "ota-provider.md §4.1 step 6 (capacity)", Level: ota.LevelMust, PICS: []string{"MCORE.OTA.Provider"}, Outcome: harness.Error,
				Message: "BDX download did not finish within the case timeout: context deadline exceeded",
				Exchanges: []harness.ExchangeRecord{{Requestor: "1/000000000001A002", Request: `BDX ReceiveInit "otaconf-fff1-8000-v2.ota" (MBS 1024, offset 0)`,
					Status: "context deadline exceeded"}},
				Duration: 20 * time.Second},
			{ID: "11.20.6.5.1/location-3", Title: "Location of 3 characters " + hostile, Section: "§11.20.6.5.1",
				Level: ota.LevelMust, PICS: []string{"MCORE.OTA.Provider"}, Outcome: harness.Fail,
				Message: "the provider said " + hostile,
				Failures: []harness.Failure{{Level: ota.LevelMust, Rule: "im.status", Section: "§11.20.6.5.1",
					Expected: "CONSTRAINT_ERROR (0x87)", Actual: "QueryImageResponse " + hostile,
					Message: "the provider said " + hostile}},
				Exchanges: []harness.ExchangeRecord{{Requestor: "1/000000000001A001", Request: "QueryImage", RequestHex: qiHex,
					Response: "QueryImageResponse", ResponseHex: "1524", Decoded: "(does not decode: " + hostile + ")"}},
				Log: []string{"multi-line\nlog " + hostile}, Duration: 2 * time.Millisecond},
		},
	}
	rep.Summary = harness.Summary{Total: 6, Passed: 2, Failed: 2, Skipped: 1, Errors: 1, Warnings: 1}
	return rep
}
