package cases

import (
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// TC-SU-3.1: QueryImageResponse from the DUT to an OTA requestor (ota-provider.md §8.1).
func init() {
	register(&harness.Case{
		ID: "TC-SU-3.1/1", Title: "QueryImage is answered with an offer the provider can serve",
		Section: "§11.20.6.5.2", TestPlan: "TC-SU-3.1 step 1", Level: ota.LevelMust, PICS: providerPICS,
		Run: func(t *harness.T) {
			t.Step("1")
			q := t.Query()
			q.RequestorCanConsent = ota.Ptr(false)
			o := t.ExpectOffer(r0(t), q)
			data := t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
			verifyImage(t, data, o)
		},
	})
}
