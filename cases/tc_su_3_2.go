package cases

import (
	"fmt"
	"strings"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// TC-SU-3.2: correct QueryImageResponse contents (ota-provider.md §8.1).
func init() {
	register(
		&harness.Case{
			ID: "TC-SU-3.2/1a", Title: "UpdateAvailable carries URI, version, version string and an 8..32-byte token (requestor cannot consent)",
			Section: "§11.20.6.5.2", TestPlan: "TC-SU-3.2 step 1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) { step1(t, false) },
		},
		&harness.Case{
			ID: "TC-SU-3.2/1b", Title: "UpdateAvailable carries URI, version, version string and an 8..32-byte token (requestor can consent)",
			Section: "§11.20.6.5.2", TestPlan: "TC-SU-3.2 step 1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) { step1(t, true) },
		},
		&harness.Case{
			ID: "TC-SU-3.2/2", Title: "NotAvailable when no newer image exists",
			Section: "§11.20.6.5.2", TestPlan: "TC-SU-3.2 step 2", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("2")
				o := offer(t)
				// Ask again as a requestor already running the newest version: nothing is newer.
				q := t.Query()
				q.SoftwareVersion = o.Version
				qr := t.QueryImage(r0(t), q)
				t.Expect(ota.LevelMust, "TC-SU-3.2 step 2", "Status for a requestor already on the newest version",
					ota.StatusNotAvailable.String(), qr.Status.String())
			},
		},
		&harness.Case{
			ID: "TC-SU-3.2/3", Title: "A bdx ImageURI is bdx:// + the provider's node id in 16 uppercase hex + / + designator",
			Section: "§11.20.6.5.2.3", TestPlan: "TC-SU-3.2 step 3", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("3")
				o := offer(t)
				// The response rules already applied every URI rule; spell out the essentials.
				u, fs := ota.ParseBDXURI(o.URI)
				if len(fs) > 0 {
					return // reported by the response rules
				}
				if want := t.Identity().NodeID(r0(t).FabricIndex); want != 0 {
					t.Expect(ota.LevelMust, "§11.20.6.5.2.3 rules 3-4", "URI node id", fmt.Sprintf("%016X", want), fmt.Sprintf("%016X", u.NodeID))
				}
				if len(o.URI) < ota.MinBDXURILen || len(o.URI) > ota.MaxImageURILen {
					t.Failf(ota.LevelMust, "uri.length", "§11.20.6.5.2.3 rule 7", "24..256 characters", fmt.Sprint(len(o.URI)), "ImageURI length")
				}
			},
		},
		&harness.Case{
			ID: "TC-SU-3.2/4", Title: "A requestor that lists HTTPS only gets a valid https ImageURI",
			Section: "§11.20.3.3.1", TestPlan: "TC-SU-3.2 step 4", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSHTTPS},
			Run: func(t *harness.T) {
				t.Step("4")
				q := t.Query()
				q.ProtocolsSupported = []ota.DownloadProtocol{ota.ProtocolHTTPS}
				qr := t.QueryImage(r0(t), q)
				if !t.Expect(ota.LevelMust, "TC-SU-3.2 step 4", "Status", ota.StatusUpdateAvailable.String(), qr.Status.String()) {
					return
				}
				if qr.ImageURI != nil && !strings.HasPrefix(*qr.ImageURI, "https://") {
					t.Failf(ota.LevelMust, "uri.https", "TC-SU-3.2 step 4", "an https:// URI", *qr.ImageURI, "the requestor listed only HTTPS")
				}
			},
		},
		&harness.Case{
			ID: "TC-SU-3.2/5", Title: "Busy with DelayedActionTime, then UpdateAvailable and the right image on the next query",
			Section: "§11.20.6.5.2.2", TestPlan: "TC-SU-3.2 step 5", Level: ota.LevelMust,
			PICS: []string{PICSProvider, PICSDelayedActionTime}, Scenario: scenario.Busy,
			Run: func(t *harness.T) {
				t.Step("5: first query")
				qr := t.QueryImage(r0(t), t.Query())
				if !t.Expect(ota.LevelMust, "TC-SU-3.2 step 5", "Status of the first query", ota.StatusBusy.String(), qr.Status.String()) {
					return
				}
				if qr.DelayedActionTime != nil && t.Identity().Steerable {
					t.Expect(ota.LevelMust, "TC-SU-3.2 step 5", "DelayedActionTime (set up as 180 s)", fmt.Sprint(scenario.DefaultDelay), fmt.Sprint(*qr.DelayedActionTime))
				}
				// Providers must tolerate an early return (§4.6); the harness does not wait 180 s.
				t.Step("5: query after the delay")
				o := offer(t)
				data := t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
				verifyImage(t, data, o)
			},
		},
	)
}

func step1(t *harness.T, canConsent bool) {
	t.Step("1")
	q := t.Query()
	q.RequestorCanConsent = ota.Ptr(canConsent)
	o := t.ExpectOffer(r0(t), q)
	if n := len(o.Token); n < ota.MinTokenLen || n > ota.MaxTokenLen {
		return // reported by the response rules
	}
	if !canConsent && o.Response.UserConsentNeeded != nil && *o.Response.UserConsentNeeded {
		t.Failf(ota.LevelShould, "qir.consent.requestor-cannot", "§11.20.3.4", "UserConsentNeeded absent or false", "true",
			"the requestor said it cannot consent")
	}
	data := t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
	verifyImage(t, data, o)
}
