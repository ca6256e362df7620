package reference

import (
	"context"
	"testing"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

// Regression tests for the bugs the lifecycle model found (model_test.go), each the shrunk
// counterexample written out by hand.

// openAndVanish starts a download as r and leaves without a word: no BlockQuery, no StatusReport,
// no Close (a requestor that lost power).
func openAndVanish(t *testing.T, p *Provider, r ota.Requestor) {
	t.Helper()
	m, err := bdx.Encode(bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: 1024, FileDesignator: []byte(DefaultDesignator)})
	require.NoError(t, err)
	reply, done := p.OpenBDX(r).Handle(m)
	require.False(t, done, "the transfer must start: %v", reply)
}

// Bug #15 class (ota-provider.md §6.5.9, bug table #5/#15): transfers whose requestors vanished hold
// their slots until the BDX idle timeout sweeps them, but only opening a BDX exchange used to sweep.
// QueryImage counted the dead transfers and answered Busy, so requestors, which open BDX only after
// UpdateAvailable, were kept Busy forever. The model's counterexample:
//
//	Query(r0) AbandonDownload(r0,leave) AbandonDownload(r0,leave) Wait(25h) Query(r0) → Busy 120
//
// Fixed by sweeping in Provider.expire, which QueryImage and ApplyUpdateRequest run first.
func TestDeadTransfersDoNotKeepTheProviderBusyAfterTheIdleTimeout(t *testing.T) {
	c := fuzzClock()
	p := newProvider(t, Config{Now: c.Now, BDX: bdx.Config{MaxTransfers: 2}})
	for _, r := range fuzzRequestors[:2] {
		require.Equal(t, ota.StatusUpdateAvailable, query(t, p, r, defaultQuery()).Status)
		openAndVanish(t, p, r)
	}
	require.Equal(t, ota.StatusBusy, query(t, p, fuzzRequestors[2], defaultQuery()).Status, "both slots are taken while the transfers may still go on")
	c.Advance(bdx.MinIdleTimeout)
	require.Equal(t, ota.StatusUpdateAvailable, query(t, p, fuzzRequestors[2], defaultQuery()).Status,
		"after the idle timeout the dead transfers must not make the provider Busy (§6.5.5, §6.5.9)")
}

// A Discontinue answer withdraws the offer of the requestor that asked and kills the token it
// presented, but only its own: tokens are per (fabric, node) (ota-provider.md §5). The reference used
// to kill another requestor's token too, so that requestor's NotifyUpdateApplied no longer retired its
// offer and a download stayed armed that should not have. The lifecycle model's counterexample:
//
//	SetScenario(discontinue) Query(r1) Apply(r2,r1's-token) Notify(r1,own-token) Download(r1) → complete from 0
func TestDiscontinueLeavesAnotherRequestorsTokenAlone(t *testing.T) {
	p := newProvider(t, Config{})
	ctx := context.Background()
	owner, other := fuzzRequestors[0], fuzzRequestors[1]
	qr := query(t, p, owner, defaultQuery())
	require.NoError(t, p.SetScenario(scenario.Request{Name: scenario.Discontinue}))
	ar := p.Invoke(ctx, other, 0, ota.ProviderClusterID, ota.CmdApplyUpdateRequest, mustEnc(t, ota.ApplyUpdateRequest{UpdateToken: qr.UpdateToken, NewVersion: 2}))
	require.True(t, ar.HasCommand)
	nr := p.Invoke(ctx, owner, 0, ota.ProviderClusterID, ota.CmdNotifyUpdateApplied, mustEnc(t, ota.NotifyUpdateApplied{UpdateToken: qr.UpdateToken, SoftwareVersion: 2}))
	require.False(t, nr.HasCommand)
	_, refusal := download(t, p.OpenBDX(owner), DefaultDesignator)
	require.NotNil(t, refusal, "the owner's NotifyUpdateApplied must retire its offer; another requestor's Discontinue must not have killed its token")
}
