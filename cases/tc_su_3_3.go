package cases

import (
	"bytes"
	"fmt"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// TC-SU-3.3: transfer of images from the DUT to an OTA requestor (ota-provider.md §8.1, §6.5).
func init() {
	register(
		&harness.Case{
			ID: "TC-SU-3.3/1", Title: "BDX receiver-drive download: full blocks of MBS bytes, the image byte-identical and valid",
			Section: "§11.20.3.5", TestPlan: "TC-SU-3.3 step 1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("1")
				o := offer(t)
				data := t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{MaxBlockSize: 1024})
				verifyImage(t, data, o)
			},
		},
		&harness.Case{
			ID: "TC-SU-3.3/1-block-size", Title: "Block size: proposals of 16..128 are granted exactly, larger ones a power of two, 1024 supported",
			Section: "§11.20.3.5", TestPlan: "TC-SU-3.3 step 1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				for _, p := range []uint16{16, 100, 128, 200, 1000, 1024} {
					t.Step("1: proposal %d", p)
					res, _, _ := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, MaxBlockSize: p, StopAfterBlocks: 2, AbortCode: bdx.StatusTransferFailedUnknownError})
					if res.Accept == nil {
						t.Failf(ota.LevelMust, "bdx.accept", "TC-SU-3.3 step 1", "ReceiveAccept", describeRefusal(res), "ReceiveInit with MaxBlockSize %d refused", p)
						continue
					}
					if p == 1024 && res.MaxBlockSize < 1024 && t.Identity().Name != "" {
						t.Failf(ota.LevelShould, "bdx.block-size-1024", "TC-SU-3.3 step 1 (at least 1024 over non-TCP)", "1024", fmt.Sprint(res.MaxBlockSize),
							"a proposal of 1024 should be granted in full")
					}
				}
			},
		},
		&harness.Case{
			ID: "TC-SU-3.3/2", Title: "Consent left to a requestor that can consent: UserConsentNeeded = true",
			Section: "§11.20.3.4", TestPlan: "TC-SU-3.3 step 2", Level: ota.LevelMust,
			PICS: []string{PICSProvider, PICSUserConsentNeeded}, Scenario: scenario.ConsentByRequestor,
			Run: func(t *harness.T) {
				t.Step("2")
				q := t.Query()
				q.RequestorCanConsent = ota.Ptr(true)
				o := t.ExpectOffer(r0(t), q)
				got := "absent"
				if o.Response.UserConsentNeeded != nil {
					got = fmt.Sprint(*o.Response.UserConsentNeeded)
				}
				t.Expect(ota.LevelMust, "TC-SU-3.3 step 2", "UserConsentNeeded", "true", got)
			},
		},
		&harness.Case{
			ID: "TC-SU-3.3/3", Title: "Consent obtained by the provider: UserConsentNeeded absent or false, download after consent",
			Section: "§11.20.3.4", TestPlan: "TC-SU-3.3 step 3", Level: ota.LevelMust,
			PICS: []string{PICSProvider, PICSUserConsentNeeded}, Scenario: scenario.ConsentByProvider,
			Run: func(t *harness.T) {
				t.Step("3")
				q := t.Query()
				q.RequestorCanConsent = ota.Ptr(true)
				qr := t.QueryImage(r0(t), q)
				if qr.Status == ota.StatusBusy {
					t.Logf("the provider answered Busy while obtaining consent; asking again")
					qr = t.QueryImage(r0(t), q)
				}
				if !t.Expect(ota.LevelMust, "TC-SU-3.3 step 3", "Status once consent is obtained", ota.StatusUpdateAvailable.String(), qr.Status.String()) {
					return
				}
				if qr.UserConsentNeeded != nil && *qr.UserConsentNeeded {
					t.Failf(ota.LevelMust, "consent.provider", "TC-SU-3.3 step 3", "UserConsentNeeded absent or false", "true",
						"the provider was set up to obtain consent itself")
				}
				o := t.ExpectOffer(r0(t), q)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
			},
		},
		&harness.Case{
			ID: "TC-SU-3.3/4", Title: "After a failed transfer a new QueryImage restarts the download from the beginning",
			Section: "§11.20.3.5", TestPlan: "TC-SU-3.3 step 4", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("4: failing the transfer")
				o := offer(t)
				res, _, _ := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, StopAfterBlocks: 2, AbortCode: bdx.StatusTransferFailedUnknownError})
				if !res.Stopped {
					t.Fatalf("could not start the transfer to fail it: %s", describeRefusal(res))
				}
				t.Step("4: query again")
				o2 := offer(t)
				if bytes.Equal(o.Token, o2.Token) {
					t.Failf(ota.LevelShould, "token.fresh", "ota-provider.md §4.4", "a new UpdateToken", "the same token again", "tokens should be fresh on every UpdateAvailable")
				}
				data := t.ExpectDownload(r0(t), o2, bdx.ReceiveOptions{})
				verifyImage(t, data, o2)
			},
		},
		&harness.Case{
			ID: "TC-SU-3.3/5", Title: "A ReceiveInit with STARTOFS resumes an aborted transfer at that offset",
			Section: "§11.20.3.5", TestPlan: "TC-SU-3.3 step 5", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("5: partial transfer")
				o := offer(t)
				first, part, _ := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, StopAfterBlocks: 3})
				if !first.Stopped || len(part) == 0 {
					t.Fatalf("could not start the transfer to interrupt it: %s", describeRefusal(first))
				}
				t.Step("5: resume at offset %d", len(part))
				o = offer(t)
				res, rest, err := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, StartOffset: uint64(len(part))})
				if err != nil || !res.Complete {
					t.Failf(ota.LevelMust, "bdx.resume", "TC-SU-3.3 step 5; bug #3", "a complete transfer from the offset", describeRefusal(res),
						"resuming at offset %d failed", len(part))
					return
				}
				verifyImage(t, append(append([]byte{}, part...), rest...), o)
			},
		},
	)
}

func describeRefusal(res bdx.Result) string {
	switch {
	case res.StatusIsBDX:
		return "StatusReport " + res.StatusCode.String()
	case res.Status != nil:
		return res.Status.String()
	case res.Accept == nil:
		return "no ReceiveAccept"
	}
	return fmt.Sprintf("%d blocks, %d bytes, complete %v", res.Blocks, res.Bytes, res.Complete)
}
