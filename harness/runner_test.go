package harness_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/otaconf/otaconf/cases"
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

func referenceTarget(t testing.TB) harness.Target {
	p, err := reference.NewDefault(context.Background(), nil)
	require.NoError(t, err)
	return harness.InProcess("reference", p, []uint8{1, 2}, cases.ReferencePICS)
}

func ids(cs []*harness.Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestSelectMatchesIdsPrefixesGroupsAndGlobs(t *testing.T) {
	all := []*harness.Case{{ID: "TC-SU-3.2/1a"}, {ID: "TC-SU-3.2/5"}, {ID: "TC-SU-3.3/1"}, {ID: "11.20.6.5.1/location-3"}, {ID: "bug/back-to-back"}}
	sel := func(inc, exc []string) []string {
		s, err := harness.Select(all, inc, exc)
		require.NoError(t, err)
		return ids(s)
	}
	require.Equal(t, []string{"TC-SU-3.2/1a", "TC-SU-3.2/5"}, sel([]string{"TC-SU-3.2"}, nil), "a group id selects the group")
	require.Equal(t, []string{"TC-SU-3.2/1a", "TC-SU-3.2/5"}, sel([]string{"TC-SU-3.2/"}, nil))
	require.Equal(t, []string{"TC-SU-3.2/5"}, sel([]string{"TC-SU-3.2/5"}, nil))
	require.Equal(t, []string{"TC-SU-3.2/1a", "TC-SU-3.2/5", "TC-SU-3.3/1"}, sel([]string{"TC-SU-*"}, nil))
	require.Equal(t, []string{"11.20.6.5.1/location-3"}, sel([]string{"*/location-*"}, nil))
	require.Equal(t, []string{"TC-SU-3.3/1", "11.20.6.5.1/location-3", "bug/back-to-back"}, sel(nil, []string{"TC-SU-3.2"}))
	_, err := harness.Select(all, []string{"["}, nil)
	require.Error(t, err)
}

func TestValidateRefusesDuplicateIdsAndMissingMetadata(t *testing.T) {
	run := func(*harness.T) {}
	require.ErrorContains(t, harness.Validate([]*harness.Case{{ID: "a", Title: "t", Section: "§1", Run: run}, {ID: "a", Title: "t", Section: "§1", Run: run}}), "used twice")
	require.ErrorContains(t, harness.Validate([]*harness.Case{{ID: "a", Title: "t", Run: run}}), "required")
}

func TestTheRunnerRecordsEveryOutcome(t *testing.T) {
	mk := func(id string, level ota.Level, run func(t *harness.T)) *harness.Case {
		return &harness.Case{ID: id, Title: id, Section: "§0", Level: level, Run: run}
	}
	cs := []*harness.Case{
		mk("a/pass", ota.LevelMust, func(t *harness.T) { t.QueryImage(t.Requestor(0), t.Query()) }),
		mk("a/fail", ota.LevelMust, func(t *harness.T) { t.Expect(ota.LevelMust, "§x", "answer", "42", "41") }),
		mk("a/should", ota.LevelMust, func(t *harness.T) { t.Failf(ota.LevelShould, "r", "§y", "e", "a", "a SHOULD rule") }),
		mk("a/skip", ota.LevelMust, func(t *harness.T) { t.Skipf("not today") }),
		mk("a/panic", ota.LevelMust, func(t *harness.T) { panic("boom") }),
		mk("a/hang", ota.LevelMust, func(t *harness.T) { <-t.Context().Done() }),
		{ID: "a/pics", Title: "pics", Section: "§0", PICS: []string{"NOT.DECLARED"}, Run: func(*harness.T) {}},
		{ID: "a/scenario", Title: "scenario", Section: "§0", Scenario: scenario.Busy, Run: func(t *harness.T) {
			qr := t.QueryImage(t.Requestor(0), t.Query())
			t.Expect(ota.LevelMust, "§s", "status", "Busy", qr.Status.String())
		}},
	}
	rep, err := harness.Run(context.Background(), referenceTarget(t), cs, harness.Options{Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	got := map[string]harness.Result{}
	for _, r := range rep.Results {
		got[r.ID] = r
	}
	require.Equal(t, harness.Pass, got["a/pass"].Outcome)
	require.Len(t, got["a/pass"].Exchanges, 1)
	require.NotEmpty(t, got["a/pass"].Exchanges[0].Decoded)
	require.Greater(t, got["a/pass"].Duration, time.Duration(0))
	require.Equal(t, harness.Fail, got["a/fail"].Outcome)
	require.Equal(t, "42", got["a/fail"].Failures[0].Expected)
	require.Equal(t, "41", got["a/fail"].Failures[0].Actual)
	require.Equal(t, harness.Pass, got["a/should"].Outcome, "SHOULD failures are warnings outside strict mode")
	require.Len(t, got["a/should"].Warnings, 1)
	require.Equal(t, harness.Skip, got["a/skip"].Outcome)
	require.Equal(t, "not today", got["a/skip"].Message)
	require.Equal(t, harness.Error, got["a/panic"].Outcome)
	require.Contains(t, got["a/panic"].Message, "boom")
	require.Equal(t, harness.Error, got["a/hang"].Outcome)
	require.Contains(t, got["a/hang"].Message, "timed out")
	require.Equal(t, harness.Skip, got["a/pics"].Outcome)
	require.Contains(t, got["a/pics"].Message, "NOT.DECLARED")
	require.Equal(t, harness.Pass, got["a/scenario"].Outcome, got["a/scenario"].Message)
	require.False(t, rep.OK())
	require.Equal(t, harness.Summary{Total: 8, Passed: 3, Failed: 1, Skipped: 2, Errors: 2, Warnings: 1}, rep.Summary)

	strict, err := harness.Run(context.Background(), referenceTarget(t), cs[2:3], harness.Options{Strict: true})
	require.NoError(t, err)
	require.Equal(t, harness.Fail, strict.Results[0].Outcome, "SHOULD failures fail in strict mode")
}

// noScenarios hides a provider's SetScenario, as an external device would.
type noScenarios struct{ harness.Provider }

func TestCasesNeedingAnUndeclaredScenarioAreSkippedOnTargetsThatCannotBeSteered(t *testing.T) {
	cat, _, err := reference.DefaultCatalog(context.Background())
	require.NoError(t, err)
	p, err := reference.New(reference.Config{Catalog: cat})
	require.NoError(t, err)
	target := harness.InProcess("unsteerable", noScenarios{p}, []uint8{1}, cases.ReferencePICS)
	sel, err := harness.Select(cases.All(), []string{"TC-SU-3.2/5"}, nil)
	require.NoError(t, err)
	rep, err := harness.Run(context.Background(), target, sel, harness.Options{})
	require.NoError(t, err)
	require.Equal(t, harness.Skip, rep.Results[0].Outcome)
	require.Contains(t, rep.Results[0].Message, "--scenario busy")

	// Declared: the case runs (and fails here, since nothing really set the provider up).
	rep, err = harness.Run(context.Background(), target, sel, harness.Options{Declared: []scenario.Name{scenario.Busy}})
	require.NoError(t, err)
	require.Equal(t, harness.Fail, rep.Results[0].Outcome)
	require.True(t, strings.Contains(rep.Results[0].Message, "Busy"), rep.Results[0].Message)
}

type unreachable struct{ harness.Target }

func (unreachable) Identity(context.Context) (harness.Identity, error) {
	return harness.Identity{}, context.DeadlineExceeded
}

func TestAnUnreachableTargetIsReportedAsSuch(t *testing.T) {
	_, err := harness.Run(context.Background(), unreachable{}, cases.All(), harness.Options{})
	require.ErrorIs(t, err, harness.ErrUnreachable)
}

// BenchmarkInProcessInvoke is the in-process invoke round trip of a QueryImage that gets an offer.
func BenchmarkInProcessInvoke(b *testing.B) {
	target := referenceTarget(b)
	q, _ := ota.Encode(ota.QueryImage{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 1, ProtocolsSupported: []ota.DownloadProtocol{0}})
	r := ota.Requestor{FabricIndex: 1, NodeID: 0x1234}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := target.Invoke(ctx, r, 0, ota.ProviderClusterID, ota.CmdQueryImage, q)
		if err != nil || !resp.HasCommand {
			b.Fatal(err, resp)
		}
	}
}

// BenchmarkSuite runs the whole suite (83 cases, BDX downloads of the 1 MiB image included) against
// the embedded reference.
func BenchmarkSuite(b *testing.B) {
	all := cases.All()
	for b.Loop() {
		rep, err := harness.Run(context.Background(), referenceTarget(b), all, harness.Options{})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Summary)
		}
	}
}
