package cases

import (
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// Known bug classes of OTA providers (ota-provider.md §9): state after a declined offer, downloads
// back to back, transfers bound to the requestor, a query after an abandoned transfer.
func init() {
	register(
		&harness.Case{
			ID: "bug/declined-offer", Title: "After an offer is declined (no download), the next offer downloads",
			Section: "§11.20.3.5", TestPlan: "bug #4 (connectedhomeip #23573)", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("offer, declined")
				offer(t)
				t.Step("offer again, downloaded")
				o := offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
			},
		},
		&harness.Case{
			ID: "bug/back-to-back", Title: "Two full downloads back to back both complete",
			Section: "§11.20.3.5", TestPlan: "bug #9 (connectedhomeip #9737)", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("first download")
				o := offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
				t.Step("second download")
				o = offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
			},
		},
		&harness.Case{
			ID: "bug/bdx-other-node", Title: "A node that was not offered the image cannot download it (same fabric)",
			Section: "§11.20.3.5", TestPlan: "bug #2 (connectedhomeip #74130, #74131)", Level: ota.LevelMust, PICS: providerPICS, Requestors: 2,
			Run: func(t *harness.T) {
				o := offer(t)
				c := t.OpenBDX(r1(t))
				c.Send(receiveInit(o))
				c.ExpectStatus(bdx.StatusFileDesignatorUnknown, "ota-provider.md §5, §6.5.1 (BDX has no ACL: bind the transfer to the requestor)")
			},
		},
		&harness.Case{
			ID: "bug/bdx-other-fabric", Title: "The offered node on another fabric cannot download the image",
			Section: "§11.20.3.5", TestPlan: "bug #2 (connectedhomeip #74130)", Level: ota.LevelMust, PICS: providerPICS, Requestors: 3,
			Run: func(t *harness.T) {
				o := offer(t)
				c := t.OpenBDX(r2(t))
				c.Send(receiveInit(o))
				c.ExpectStatus(bdx.StatusFileDesignatorUnknown, "ota-provider.md §5 (requestors are (fabric, node) pairs)")
			},
		},
		&harness.Case{
			ID: "bug/abandoned-transfer", Title: "A requestor that abandoned a transfer gets a valid answer to its next query and can download",
			Section: "§11.20.3.5", TestPlan: "bugs #5, #15 (connectedhomeip #24679; matterjs-server #984)", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("transfer abandoned after 2 blocks")
				o := offer(t)
				t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, StopAfterBlocks: 2})
				t.Step("query again")
				qr := t.QueryImage(r0(t), t.Query())
				switch qr.Status {
				case ota.StatusBusy:
					t.Logf("the provider answered Busy (allowed while the old transfer is alive); asking again")
					qr = t.QueryImage(r0(t), t.Query())
					if qr.Status == ota.StatusBusy {
						t.Logf("still Busy; a provider must free the transfer at its idle timeout (≥ 5 min), not tested here")
						return
					}
				}
				if t.Expect(ota.LevelMust, "ota-provider.md §6.5.9 (release state after a failed transfer)", "Status", ota.StatusUpdateAvailable.String(), qr.Status.String()) {
					o = t.ExpectOffer(r0(t), t.Query())
					t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
				}
			},
		},
		&harness.Case{
			ID: "bug/status-changes", Title: "NotAvailable and DownloadProtocolNotSupported answers leave no state that spoils the next offer",
			Section: "§11.20.3.2", TestPlan: "bug #13 (connectedhomeip #25067)", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.SoftwareVersion = 0xFFFFFFF0
				t.QueryImage(r0(t), q)
				q = t.Query()
				q.ProtocolsSupported = []ota.DownloadProtocol{ota.ProtocolVendorSpecific}
				t.QueryImage(r0(t), q)
				o := offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
			},
		},
		&harness.Case{
			ID: "bug/two-requestors", Title: "Two requestors downloading at the same time both get the whole image",
			Section: "§11.20.3.5", TestPlan: "ota-provider.md §4.1 step 6 (capacity)", Level: ota.LevelMust, PICS: providerPICS, Requestors: 2,
			Run: func(t *harness.T) {
				a := t.ExpectOffer(r0(t), t.Query())
				b := t.ExpectOffer(r1(t), t.Query())
				// Interleave: start one transfer, run the other to the end, then finish the first.
				ca := t.OpenBDX(r0(t))
				ca.Send(receiveInit(a))
				ca.Expect(bdx.OpReceiveAccept, "TC-SU-3.3 step 1")
				ca.Send(bdx.BlockQuery{Counter: 0})
				ca.Recv()
				t.ExpectDownload(r1(t), b, bdx.ReceiveOptions{})
				ca.Send(bdx.BlockQuery{Counter: 1})
				if m, ok := ca.Recv(); !ok || m.IsStatusReport() {
					t.Failf(ota.LevelMust, "bdx.concurrent", "ota-provider.md §6 (each transfer independent)", "Block 1", describeMessageOK(m, ok),
						"the first transfer broke while another requestor downloaded")
				}
			},
		},
	)
}

func describeMessageOK(m bdx.Message, ok bool) string {
	if !ok {
		return "no reply"
	}
	return m.String()
}
