package fuzz

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// budgetIterations stands for the default budget (DefaultDuration, 20 s) in tests, which count
// iterations rather than time. A default run makes far more: measured on a shared 2-core machine,
// 49,863 inputs against the in-process double with the four seeded bugs and 5,749 against the exec
// double, whose child crashes and is restarted on about one input in ten.
const budgetIterations = 2000

// The four seeded defects of the issue and the signature each must be found under.
var (
	sigLocation      = "status|QueryImage|CONSTRAINT_ERROR|QueryImage.Location|QueryImageResponse"
	sigToken7        = "response-rule|QueryImage|response.constraint|QueryImageResponse.UpdateToken"
	sigNoVersionStr  = "response-rule|QueryImage|qir.update-available.fields|QueryImageResponse.SoftwareVersionString"
	sigPanicInProc   = "target-error|QueryImage|panic"
	sigChildExited   = "target-error|QueryImage|transport"
	sigUnresponsive  = "unresponsive|QueryImage"
	seededInProcSigs = []string{sigLocation, sigToken7, sigNoVersionStr, sigPanicInProc}
	seededExecSigs   = []string{sigLocation, sigToken7, sigNoVersionStr, sigChildExited}
)

func signatures(s *Summary) []string {
	var out []string
	for _, f := range s.Findings {
		out = append(out, f.Signature)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func findingBySig(t *testing.T, s *Summary, sig string) Finding {
	t.Helper()
	for _, f := range s.Findings {
		if f.Signature == sig {
			return f
		}
	}
	t.Fatalf("no finding %s among %v", sig, signatures(s))
	return Finding{}
}

func TestTheReferenceGivesNoFinding(t *testing.T) {
	for _, strict := range []bool{false, true} {
		sum, err := Run(t.Context(), Config{Target: referenceTarget(t), Seed: 7, Iterations: budgetIterations, Strict: strict})
		require.NoError(t, err)
		require.Equal(t, budgetIterations, sum.Iterations)
		require.Empty(t, signatures(sum), "strict %v", strict)
		require.Empty(t, sum.Stopped)
		require.Greater(t, sum.Executions, sum.Iterations, "sequences send several requests")
	}
}

func TestTheReferenceThroughTheExecAdapterGivesNoFinding(t *testing.T) {
	sum, err := Run(t.Context(), Config{Target: execTarget(t, referenceNoBugs), Seed: 8, Iterations: 600, Strict: true})
	require.NoError(t, err)
	require.Empty(t, signatures(sum))
}

func TestEachSeededDefectIsFoundWithinTheBudget(t *testing.T) {
	t.Run("in process", func(t *testing.T) {
		dir := t.TempDir()
		sum, err := Run(t.Context(), Config{Target: seededTarget(t, allFourBugs), Seed: 1, Iterations: budgetIterations, Out: dir})
		require.NoError(t, err)
		require.Equal(t, sorted(seededInProcSigs), signatures(sum))
		files, _ := filepath.Glob(filepath.Join(dir, "finding-*.json"))
		require.Len(t, files, 4)
	})
	t.Run("through the exec adapter", func(t *testing.T) {
		sum, err := Run(t.Context(), Config{Target: execTarget(t, allFourBugs), Seed: 1, Iterations: 600})
		require.NoError(t, err)
		require.Equal(t, sorted(seededExecSigs), signatures(sum))
		crash := findingBySig(t, sum, sigChildExited)
		require.Contains(t, crash.Message, "closed its stdout")
		require.True(t, crash.Reproducible)
	})
}

func TestAProviderThatStopsAnsweringIsAFindingAndTheRunGoesOn(t *testing.T) {
	t.Run("in process", func(t *testing.T) {
		// The hung calls block until the test ends; in a synctest bubble their timeouts pass at once.
		synctest.Test(t, func(t *testing.T) {
			sum, err := Run(t.Context(), Config{Target: seededTarget(t, hangBug), Seed: 1, Iterations: budgetIterations, Timeout: time.Second})
			require.NoError(t, err)
			require.Equal(t, []string{sigUnresponsive}, signatures(sum))
			f := sum.Findings[0]
			require.Equal(t, OracleUnresponsive, f.Oracle)
			require.Contains(t, f.Message, "no answer within 1s")
			// Every hung call keeps its goroutine, so the run stops at the guard's limit rather than
			// pile them up; until then it went on.
			require.Contains(t, sum.Stopped, "never returned")
			require.Greater(t, sum.Iterations, 1)
		})
	})
	t.Run("through the exec adapter", func(t *testing.T) {
		start := time.Now()
		sum, err := Run(t.Context(), Config{Target: execTarget(t, hangBug), Seed: 1, Iterations: 300, Timeout: 300 * time.Millisecond, MaxFindings: 1})
		require.NoError(t, err)
		require.Equal(t, []string{sigUnresponsive}, signatures(sum))
		require.Contains(t, sum.Stopped, "1 findings")
		require.Less(t, time.Since(start), 20*time.Second, "minimisation is bounded for inputs that hang")
		// The child was killed and restarted: the liveness probe after the finding succeeded.
		require.Zero(t, sum.ByOracle()[OracleLiveness])
	})
}

func TestAProviderThatDiesForGoodIsALivenessFindingAndStopsTheRun(t *testing.T) {
	// After the first odd-metadata query the double answers nothing more, the known-good query
	// included.
	synctest.Test(t, func(t *testing.T) {
		p, err := newReference()
		require.NoError(t, err)
		d := &seeded{Provider: p, bugs: map[string]bool{}, release: make(chan struct{})}
		dead := &deadAfterOddMetadata{seeded: d}
		defer close(d.release)
		target := harness.InProcess("dies", dead, []uint8{1, 2}, nil)
		sum, err := Run(t.Context(), Config{Target: target, Seed: 1, Iterations: budgetIterations, Timeout: time.Second})
		require.NoError(t, err)
		require.Equal(t, sorted([]string{sigUnresponsive, "liveness|QueryImage"}), signatures(sum))
		require.Contains(t, sum.Stopped, "did not recover")
		live := findingBySig(t, sum, "liveness|QueryImage")
		require.Contains(t, live.Message, "the known-good QueryImage got no QueryImageResponse")
		require.Len(t, live.Exchanges, 1, "the failed probe is recorded")
		unresp := findingBySig(t, sum, sigUnresponsive)
		require.Equal(t, unresp.Original, unresp.Steps, "a dead target is not used to minimise")

		// The liveness finding replays: against another such provider it recurs, against the
		// reference it does not.
		require.NoError(t, live.write(t.TempDir()))
		d2 := &deadAfterOddMetadata{seeded: &seeded{Provider: p, bugs: map[string]bool{}, release: d.release}}
		got, reproduced, err := Replay(t.Context(), harness.InProcess("dies", d2, []uint8{1, 2}, nil), live.File)
		require.NoError(t, err)
		require.True(t, reproduced, got.Observed)
		require.Contains(t, got.Observed, "got no QueryImageResponse")
		got, reproduced, err = Replay(t.Context(), referenceTarget(t), live.File)
		require.NoError(t, err)
		require.False(t, reproduced, got.Observed)
	})
}

type deadAfterOddMetadata struct {
	*seeded
	dead atomic.Bool
}

func (d *deadAfterOddMetadata) Invoke(ctx context.Context, r ota.Requestor, ep uint16, cl uint32, cmd ota.CommandID, fields []byte) ota.Response {
	if q, _ := ota.DecodeQueryImage(fields); cmd == ota.CmdQueryImage && len(q.MetadataForProvider)%2 == 1 {
		d.dead.Store(true)
	}
	if d.dead.Load() {
		<-d.release
	}
	return d.seeded.Invoke(ctx, r, ep, cl, cmd, fields)
}

func TestTheSameSeedGivesTheSameRun(t *testing.T) {
	run := func(seed int64) *Summary {
		sum, err := Run(t.Context(), Config{Target: seededTarget(t, allFourBugs), Seed: seed, Iterations: 800})
		require.NoError(t, err)
		return sum
	}
	a, b := run(3), run(3)
	require.Equal(t, a.Iterations, b.Iterations)
	require.Equal(t, a.Executions, b.Executions)
	require.Equal(t, len(a.Findings), len(b.Findings))
	for i := range a.Findings {
		fa, fb := a.Findings[i], b.Findings[i]
		require.Equal(t, fa.Signature, fb.Signature)
		require.Equal(t, fa.Iteration, fb.Iteration)
		require.Equal(t, fa.Original, fb.Original)
		require.Equal(t, fa.Steps, fb.Steps)
		require.Equal(t, fa.Duplicates, fb.Duplicates)
	}
	c := run(4)
	require.NotEqual(t, a.Findings[0].Original, c.Findings[0].Original, "another seed, other inputs")
}

func TestAnIterationsInputDependsOnlyOnTheSeedAndItsNumber(t *testing.T) {
	reqs := harness.FreshRequestors(0)
	g1 := newGenerator(11, harness.DefaultProfile, 3)
	var all [][]Step
	for i := 0; i < 300; i++ {
		all = append(all, g1.input(i, reqs))
	}
	// A second generator that skips around gives the same inputs: a run cut short by --duration is
	// a prefix of the longer run.
	g2 := newGenerator(11, harness.DefaultProfile, 3)
	for _, i := range []int{299, 0, 150, 17, 17, 298} {
		require.Equal(t, all[i], g2.input(i, reqs), "iteration %d", i)
	}
	g3 := newGenerator(12, harness.DefaultProfile, 3)
	same := 0
	for i := 0; i < 300; i++ {
		if slices.EqualFunc(all[i], g3.input(i, reqs), func(a, b Step) bool { return string(a.Fields) == string(b.Fields) }) {
			same++
		}
	}
	require.Less(t, same, 30, "another seed gives other inputs")
}

func TestMinimisationShrinksFindingsToTheirCause(t *testing.T) {
	sum, err := Run(t.Context(), Config{Target: seededTarget(t, allFourBugs), Seed: 1, Iterations: budgetIterations})
	require.NoError(t, err)

	t.Run("the Location finding is a query whose only optional field is Location", func(t *testing.T) {
		f := findingBySig(t, sum, sigLocation)
		require.True(t, f.Reproducible)
		require.Len(t, f.Steps, 1)
		e, err := tlv.Decode(f.Steps[0].Fields)
		require.NoError(t, err)
		var tags []uint32
		for _, m := range e.Elems {
			tags = append(tags, m.Tag.Number)
		}
		require.Equal(t, []uint32{0, 1, 2, 3, 5}, tags, "mandatory fields and Location: %s", e)
		loc, _ := e.Member(tlv.Context(5))
		require.Len(t, loc.Bytes, 3)
		pro, _ := e.Member(tlv.Context(3))
		require.Empty(t, pro.Elems, "ProtocolsSupported entries are not needed")
		last := f.Original[len(f.Original)-1]
		require.LessOrEqual(t, len(f.Steps[0].Fields), len(last.Fields))
	})
	t.Run("the panic finding keeps one octet of metadata", func(t *testing.T) {
		f := findingBySig(t, sum, sigPanicInProc)
		require.Len(t, f.Steps, 1)
		// Byte-level shrinking may leave the structure unterminated: what the provider decodes is
		// the one octet of metadata and nothing else.
		q, _ := ota.DecodeQueryImage(f.Steps[0].Fields)
		require.Len(t, q.MetadataForProvider, 1)
		require.Nil(t, q.Location)
		require.Nil(t, q.HardwareVersion)
		require.Nil(t, q.RequestorCanConsent)
		require.Contains(t, f.Message, "seeded bug: 1-octet MetadataForProvider")
		require.Less(t, len(f.Steps[0].Fields), len(f.Original[0].Fields))
	})
	t.Run("the token finding is a valid query", func(t *testing.T) {
		f := findingBySig(t, sum, sigToken7)
		require.Len(t, f.Steps, 1)
		require.Nil(t, ota.ExpectedStatus(f.Steps[0].Command, f.Steps[0].Fields))
		require.NotEmpty(t, f.Exchanges)
		assert.Contains(t, f.Exchanges[0].Response, "QueryImageResponse")
	})
}

func TestAReplayFileReproducesItsFinding(t *testing.T) {
	dir := t.TempDir()
	sum, err := Run(t.Context(), Config{Target: seededTarget(t, allFourBugs), Seed: 2, Iterations: budgetIterations, Out: dir})
	require.NoError(t, err)
	require.Len(t, sum.Findings, 4)
	for _, f := range sum.Findings {
		t.Run(string(f.Oracle)+" "+filepath.Base(f.File), func(t *testing.T) {
			require.FileExists(t, f.File)
			require.True(t, strings.HasPrefix(filepath.Base(f.File), "finding-"))
			got, reproduced, err := Replay(t.Context(), seededTarget(t, allFourBugs), f.File)
			require.NoError(t, err)
			require.True(t, reproduced, "observed: %s", got.Observed)
			require.Equal(t, f.Signature, got.Signature)
			require.NotEmpty(t, got.Exchanges)

			_, reproduced, err = Replay(t.Context(), referenceTarget(t), f.File)
			require.NoError(t, err)
			require.False(t, reproduced, "the reference has none of the defects")
		})
	}
	t.Run("through the exec adapter", func(t *testing.T) {
		f := findingBySig(t, sum, sigToken7)
		got, reproduced, err := Replay(t.Context(), execTarget(t, allFourBugs), f.File)
		require.NoError(t, err)
		require.True(t, reproduced, "observed: %s", got.Observed)
	})
	t.Run("a broken file is an error naming the file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(`{"version":1,"oracle":"status","signature":"x","steps":[]}`), 0o644))
		_, _, err := Replay(t.Context(), referenceTarget(t), bad)
		require.ErrorContains(t, err, "bad.json")
		require.ErrorContains(t, err, "no steps")
	})
}

func TestAnUnreachableTargetIsReportedAsSuch(t *testing.T) {
	_, err := Run(t.Context(), Config{Target: harness.Exec("exit 3", nil), Iterations: 10})
	require.ErrorIs(t, err, harness.ErrUnreachable)
}

func TestTheReportHasOneFailedResultPerFinding(t *testing.T) {
	sum, err := Run(t.Context(), Config{Target: seededTarget(t, allFourBugs), Seed: 1, Iterations: 600})
	require.NoError(t, err)
	rep := sum.Report()
	require.Len(t, rep.Results, len(sum.Findings))
	require.Equal(t, len(sum.Findings), rep.Summary.Failed)
	require.False(t, rep.OK())
	for i, r := range rep.Results {
		f := sum.Findings[i]
		require.Equal(t, fmt.Sprintf("fuzz/%s/%d", f.Oracle, f.N), r.ID)
		require.Equal(t, harness.Fail, r.Outcome)
		require.Len(t, r.Failures, 1)
		require.NotEmpty(t, r.Section)
		require.NotEmpty(t, r.Exchanges)
	}
	clean, err := Run(t.Context(), Config{Target: referenceTarget(t), Seed: 1, Iterations: 50})
	require.NoError(t, err)
	rep = clean.Report()
	require.True(t, rep.OK())
	require.Equal(t, 1, rep.Summary.Passed)
}

func TestProgressIsReportedAboutOnceASecond(t *testing.T) {
	var calls []Stats
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(100 * time.Millisecond); return now }
	sum, err := Run(t.Context(), Config{Target: referenceTarget(t), Seed: 1, Iterations: 100, Now: clock, Progress: func(s Stats) { calls = append(calls, s) }})
	require.NoError(t, err)
	// 100 iterations at 100 ms each on the fake clock: about ten seconds, about ten calls.
	require.InDelta(t, 10, len(calls), 2)
	require.Equal(t, 100, sum.Iterations)
	for i := 1; i < len(calls); i++ {
		require.Greater(t, calls[i].Iterations, calls[i-1].Iterations)
	}
}

func TestADurationBudgetEndsTheRun(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	sum, err := Run(t.Context(), Config{Target: referenceTarget(t), Seed: 1, Duration: 30 * time.Second, Now: clock})
	require.NoError(t, err)
	require.InDelta(t, 29, sum.Iterations, 2)
}

func TestACancelledRunReturnsItsSummary(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	clock := func() time.Time {
		n++
		if n == 50 {
			cancel()
		}
		return time.Unix(int64(n), 0)
	}
	sum, err := Run(ctx, Config{Target: referenceTarget(t), Seed: 1, Iterations: 1000, Now: clock})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, sum)
	require.Contains(t, sum.Stopped, "interrupted")
	require.Less(t, sum.Iterations, 1000)
}
