package cases

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
)

// §11.20.3.2-§11.20.3.4: querying, download protocol selection and consent (ota-provider.md §4.1,
// §4.7; bug #1, connectedhomeip #25711).

func expectStatus(t *harness.T, q ota.QueryImage, want ota.Status, section, what string) ota.QueryImageResponse {
	qr := t.QueryImage(r0(t), q)
	t.Expect(ota.LevelMust, section, what, want.String(), qr.Status.String())
	return qr
}

func init() {
	register(
		&harness.Case{
			ID: "11.20.3.2/foreign-vendor", Title: "A requestor of another vendor gets NotAvailable",
			Section: "§11.20.3.2", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.VendorID ^= 0x0F0F
				expectStatus(t, q, ota.StatusNotAvailable, "ota-provider.md §4.1 step 3; bug #1 (connectedhomeip #25711)", "Status for a foreign VendorID")
			},
		},
		&harness.Case{
			ID: "11.20.3.2/foreign-product", Title: "A requestor of another product gets NotAvailable",
			Section: "§11.20.3.2", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.ProductID ^= 0x0F0F
				expectStatus(t, q, ota.StatusNotAvailable, "ota-provider.md §4.1 step 3; bug #1", "Status for a foreign ProductID")
			},
		},
		&harness.Case{
			ID: "11.20.3.2/newer-requestor", Title: "A requestor running a newer version than any image gets NotAvailable",
			Section: "§11.20.3.2", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.SoftwareVersion = 0xFFFFFFF0
				expectStatus(t, q, ota.StatusNotAvailable, "ota-provider.md §4.5 (never offer a version that is not newer)", "Status for a requestor on version 0xFFFFFFF0")
			},
		},
		&harness.Case{
			ID: "11.20.3.2/repeat-query", Title: "Two queries in a row both get complete, valid offers",
			Section: "§11.20.3.2", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("first query")
				a := offer(t)
				t.Step("second query")
				b := offer(t)
				if a.URI != b.URI {
					t.Logf("the two offers name different URIs: %s, %s", a.URI, b.URI)
				}
			},
		},
		&harness.Case{
			ID: "11.20.3.2/token-fresh", Title: "Every UpdateAvailable carries a fresh UpdateToken",
			Section: "§11.20.3.6.1", Level: ota.LevelShould, PICS: providerPICS,
			Run: func(t *harness.T) {
				a, b := offer(t), offer(t)
				if bytes.Equal(a.Token, b.Token) {
					t.Failf(ota.LevelShould, "token.fresh", "ota-provider.md §4.4 (CHIP and matter.js mint 32 random bytes per offer)",
						"two different tokens", fmt.Sprintf("%X twice", a.Token), "the provider reused an UpdateToken")
				}
			},
		},
		&harness.Case{
			ID: "11.20.3.3.1/https-only", Title: "A requestor listing only HTTPS never gets a bdx URI",
			Section: "§11.20.3.3.1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.ProtocolsSupported = []ota.DownloadProtocol{ota.ProtocolHTTPS}
				qr := t.QueryImage(r0(t), q) // the response rules reject a bdx URI here
				switch qr.Status {
				case ota.StatusDownloadProtocolNotSupported:
				case ota.StatusUpdateAvailable:
					if qr.ImageURI != nil && !strings.HasPrefix(*qr.ImageURI, "https://") {
						return // reported as qir.uri.protocol-offered
					}
				default:
					t.Failf(ota.LevelMust, "qi.protocol", "§11.20.3.3.1; bug #1", "DownloadProtocolNotSupported or an https offer", qr.Status.String(), "HTTPS-only requestor")
				}
			},
		},
		&harness.Case{
			ID: "11.20.3.3.1/vendor-specific-only", Title: "A requestor listing only VendorSpecific gets DownloadProtocolNotSupported",
			Section: "§11.20.3.3.1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.ProtocolsSupported = []ota.DownloadProtocol{ota.ProtocolVendorSpecific}
				expectStatus(t, q, ota.StatusDownloadProtocolNotSupported, "§11.20.3.3.1", "Status when no offered protocol fits")
			},
		},
		&harness.Case{
			ID: "11.20.3.3.1/empty-protocols", Title: "An empty ProtocolsSupported gets DownloadProtocolNotSupported",
			Section: "§11.20.3.3.1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.ProtocolsSupported = []ota.DownloadProtocol{}
				expectStatus(t, q, ota.StatusDownloadProtocolNotSupported, "§11.20.3.3.1", "Status when no protocol is listed")
			},
		},
		&harness.Case{
			ID: "11.20.3.3.1/bdx-preferred", Title: "A requestor listing HTTPS and BDX synchronous can download by BDX or HTTPS, never another scheme",
			Section: "§11.20.3.3.1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.ProtocolsSupported = []ota.DownloadProtocol{ota.ProtocolHTTPS, ota.ProtocolBDXSynchronous}
				t.ExpectOffer(r0(t), q)
			},
		},
		&harness.Case{
			ID: "11.20.3.4/consent-denied", Title: "Consent refused by the user gives NotAvailable",
			Section: "§11.20.3.4", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSUserConsentNeeded}, Scenario: scenario.ConsentDenied,
			Run: func(t *harness.T) {
				expectStatus(t, t.Query(), ota.StatusNotAvailable, "§11.20.3.4 (ota-provider.md §4.7)", "Status when consent was denied")
			},
		},
	)
}
