package cases

import (
	"encoding/binary"
	"fmt"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
)

// §11.20.6.5.2-§11.20.6.5.5: responses, ApplyUpdateRequest, NotifyUpdateApplied and the command list
// (ota-provider.md §2.2-§2.5, §4.2-§4.10).

func init() {
	register(
		&harness.Case{
			ID: "11.20.6.5.2/not-available-fields", Title: "NotAvailable carries none of the UpdateAvailable-only fields",
			Section: "§11.20.6.5.2", Level: ota.LevelShould, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.SoftwareVersion = 0xFFFFFFF0
				t.QueryImage(r0(t), q) // rule qir.fields.only-with-update (bug #6, connectedhomeip #13387)
			},
		},
		&harness.Case{
			ID: "11.20.6.5.2/busy-delay", Title: "Busy always carries DelayedActionTime",
			Section: "§11.20.6.5.2.2", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSDelayedActionTime}, Scenario: scenario.Busy,
			Run: func(t *harness.T) {
				qr := t.QueryImage(r0(t), t.Query()) // rule qir.busy.delay (bug #8)
				t.Expect(ota.LevelMust, "§11.20.6.5.2", "Status", ota.StatusBusy.String(), qr.Status.String())
			},
		},
		&harness.Case{
			ID: "11.20.6.5.2.3/uri-per-fabric", Title: "The bdx URI names the provider's node id on the requestor's own fabric",
			Section: "§11.20.6.5.2.3", Level: ota.LevelMust, PICS: providerPICS, Requestors: 3,
			Run: func(t *harness.T) {
				o1 := t.ExpectOffer(r0(t), t.Query())
				o2 := t.ExpectOffer(r2(t), t.Query())
				u1, _ := ota.ParseBDXURI(o1.URI)
				u2, _ := ota.ParseBDXURI(o2.URI)
				id := t.Identity()
				if want := id.NodeID(r2(t).FabricIndex); want != 0 {
					t.Expect(ota.LevelMust, "§11.20.6.5.2.3 rule 4", "node id in the URI for fabric 2", fmt.Sprintf("%016X", want), fmt.Sprintf("%016X", u2.NodeID))
				}
				t.Logf("fabric %d: %016X, fabric %d: %016X", r0(t).FabricIndex, u1.NodeID, r2(t).FabricIndex, u2.NodeID)
			},
		},
		statusCase("11.20.6.5.3/token-7", "An ApplyUpdateRequest with a 7-byte token is a constraint error", ota.CmdApplyUpdateRequest,
			func(t *harness.T) []byte {
				return t.Encode(ota.ApplyUpdateRequest{UpdateToken: make([]byte, 7), NewVersion: 2})
			}),
		statusCase("11.20.6.5.3/token-33", "An ApplyUpdateRequest with a 33-byte token is a constraint error", ota.CmdApplyUpdateRequest,
			func(t *harness.T) []byte {
				return t.Encode(ota.ApplyUpdateRequest{UpdateToken: make([]byte, 33), NewVersion: 2})
			}),
		statusCase("11.20.6.5.3/missing-new-version", "An ApplyUpdateRequest without NewVersion is an invalid command", ota.CmdApplyUpdateRequest,
			func(t *harness.T) []byte { return []byte{0x15, 0x30, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x18} }),
		&harness.Case{
			ID: "11.20.6.5.3/unknown-token", Title: "An ApplyUpdateRequest with a token never issued gets a normal ApplyUpdateResponse",
			Section: "§11.20.6.5.3", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				tok := randBytes(t, 32)
				t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: tok, NewVersion: 2}) // bug #10
			},
		},
		&harness.Case{
			ID: "11.20.6.5.3/node-id-token", Title: "A requestor that lost its token sends its node id as an 8-byte token and gets a normal answer",
			Section: "§11.20.3.6.1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				tok := binary.BigEndian.AppendUint64(nil, r0(t).NodeID)
				t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: tok, NewVersion: 2})
			},
		},
		&harness.Case{
			ID: "11.20.6.5.3/foreign-token", Title: "A token issued to another requestor gets a normal answer, not an error",
			Section: "§11.20.6.5.3", Level: ota.LevelMust, PICS: providerPICS, Requestors: 2,
			Run: func(t *harness.T) {
				o := offer(t)
				t.ApplyUpdate(r1(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version})
			},
		},
		&harness.Case{
			ID: "11.20.6.5.4/delay-present", Title: "ApplyUpdateResponse always carries DelayedActionTime",
			Section: "§11.20.6.5.4", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version}) // decode fails without it
			},
		},
		&harness.Case{
			ID: "11.20.6.5.5/success", Title: "NotifyUpdateApplied with the offered token gets SUCCESS",
			Section: "§11.20.6.5.5", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				t.NotifyUpdateApplied(r0(t), ota.NotifyUpdateApplied{UpdateToken: o.Token, SoftwareVersion: o.Version})
			},
		},
		&harness.Case{
			ID: "11.20.6.5.5/unknown-token", Title: "NotifyUpdateApplied with an unknown token gets SUCCESS",
			Section: "§11.20.6.5.5", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				tok := randBytes(t, 16)
				t.NotifyUpdateApplied(r0(t), ota.NotifyUpdateApplied{UpdateToken: tok, SoftwareVersion: 2})
			},
		},
		statusCase("11.20.6.5.5/token-33", "NotifyUpdateApplied with a 33-byte token is a constraint error", ota.CmdNotifyUpdateApplied,
			func(t *harness.T) []byte {
				return t.Encode(ota.NotifyUpdateApplied{UpdateToken: make([]byte, 33), SoftwareVersion: 2})
			}),
		&harness.Case{
			ID: "11.20.6.5.5/optional", Title: "A provider never told of the applied update keeps serving queries",
			Section: "§11.20.6.5.5", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version})
				// No NotifyUpdateApplied: the requestor may never send it (§4.10).
				q := t.Query()
				q.SoftwareVersion = o.Version
				t.QueryImage(r0(t), q)
				offer(t)
			},
		},
		statusCase("11.20.6.5/command-1", "Invoking QueryImageResponse (0x01) on the provider is an unsupported command", ota.CmdQueryImageResponse,
			func(*harness.T) []byte { return []byte{0x15, 0x24, 0x00, 0x02, 0x18} }),
		statusCase("11.20.6.5/command-3", "Invoking ApplyUpdateResponse (0x03) on the provider is an unsupported command", ota.CmdApplyUpdateResponse,
			func(*harness.T) []byte { return []byte{0x15, 0x24, 0x00, 0x00, 0x24, 0x01, 0x00, 0x18} }),
		statusCase("11.20.6.5/command-5", "Invoking command 0x05 on the provider is an unsupported command", ota.CommandID(5),
			func(*harness.T) []byte { return []byte{0x15, 0x18} }),
	)
}
