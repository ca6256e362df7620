package cases

import (
	"bytes"
	"fmt"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// TC-SU-3.4: when an update should be applied (ota-provider.md §8.1, §4.9).
func init() {
	register(
		&harness.Case{
			ID: "TC-SU-3.4/1", Title: "ApplyUpdateRequest after the download: Proceed with a DelayedActionTime",
			Section: "§11.20.6.5.4", TestPlan: "TC-SU-3.4 step 1", Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				t.Step("1")
				o := offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
				ar := t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version})
				t.Expect(ota.LevelMust, "TC-SU-3.4 step 1", "Action", ota.ActionProceed.String(), ar.Action.String())
				t.NotifyUpdateApplied(r0(t), ota.NotifyUpdateApplied{UpdateToken: o.Token, SoftwareVersion: o.Version})
			},
		},
		&harness.Case{
			ID: "TC-SU-3.4/2", Title: "AwaitNextAction with a DelayedActionTime, then Proceed on the next request",
			Section: "§11.20.6.5.4", TestPlan: "TC-SU-3.4 step 2", Level: ota.LevelMust, PICS: providerPICS, Scenario: scenario.AwaitNextAction,
			Run: func(t *harness.T) {
				t.Step("2")
				o := offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
				ar := t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version})
				if !t.Expect(ota.LevelMust, "TC-SU-3.4 step 2", "Action", ota.ActionAwaitNextAction.String(), ar.Action.String()) {
					return
				}
				if t.Identity().Steerable {
					t.Expect(ota.LevelMust, "TC-SU-3.4 step 2", "DelayedActionTime (set up as 180 s)", fmt.Sprint(scenario.DefaultDelay), fmt.Sprint(ar.DelayedActionTime))
				}
				t.Step("2: asking again after the delay")
				ar = t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version})
				t.Expect(ota.LevelMust, "TC-SU-3.4 step 2", "Action on the next request", ota.ActionProceed.String(), ar.Action.String())
			},
		},
		&harness.Case{
			ID: "TC-SU-3.4/3", Title: "Discontinue restarts the whole OTA process on the next QueryImage",
			Section: "§11.20.6.5.4", TestPlan: "TC-SU-3.4 step 3", Level: ota.LevelMust, PICS: providerPICS, Scenario: scenario.Discontinue,
			Run: func(t *harness.T) {
				t.Step("3")
				o := offer(t)
				t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{})
				ar := t.ApplyUpdate(r0(t), ota.ApplyUpdateRequest{UpdateToken: o.Token, NewVersion: o.Version})
				if !t.Expect(ota.LevelMust, "TC-SU-3.4 step 3", "Action", ota.ActionDiscontinue.String(), ar.Action.String()) {
					return
				}
				t.Step("3: query again")
				o2 := offer(t)
				if bytes.Equal(o.Token, o2.Token) {
					t.Failf(ota.LevelShould, "token.fresh", "TC-SU-3.4 step 3 (the process restarts)", "a new UpdateToken", "the withdrawn token", "the offer was discontinued")
				}
				res, _, err := t.Download(r0(t), bdx.ReceiveOptions{Designator: o2.Designator})
				if err != nil || !res.Complete {
					t.Failf(ota.LevelMust, "bdx.restart", "TC-SU-3.4 step 3", "a full transfer from offset 0", describeRefusal(res), "the restarted download failed")
				}
			},
		},
	)
}
