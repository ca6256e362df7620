package fuzz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// Defaults.
const (
	DefaultDuration    = 20 * time.Second
	DefaultTimeout     = 2 * time.Second
	DefaultMaxFindings = 50
)

// Config configures a run. Target is required; the rest has defaults.
type Config struct {
	Target harness.Target
	// Seed chooses every input: iteration i draws from rand.NewPCG(Seed, i).
	Seed int64
	// Iterations and Duration bound the run (whichever ends first); when both are 0 the run lasts
	// DefaultDuration. Minimisation counts against Duration.
	Iterations int
	Duration   time.Duration
	// Timeout bounds each request (DefaultTimeout).
	Timeout time.Duration
	// Strict makes SHOULD-level rule failures and tolerated alternative statuses findings.
	Strict bool
	// Profile gives the valid queries their vendor, product and version, and the liveness probe its
	// known-good query (zero: harness.DefaultProfile).
	Profile harness.Profile
	// MaxFindings stops the run after this many distinct findings (DefaultMaxFindings).
	MaxFindings int
	// Out is the directory finding files are written to, created on the first finding; "" writes
	// none.
	Out string
	// Progress, when set, is called about once a second.
	Progress func(Stats)
	Logger   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Iterations <= 0 && c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Profile.VendorID == 0 && c.Profile.ProductID == 0 && c.Profile.SoftwareVersion == 0 {
		img := c.Profile.Image
		c.Profile = harness.DefaultProfile
		c.Profile.Image = img
	}
	if c.MaxFindings <= 0 {
		c.MaxFindings = DefaultMaxFindings
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats is the progress of a run.
type Stats struct {
	Iterations int
	Executions int // requests sent
	Findings   int
	Elapsed    time.Duration
}

// ExecsPerSecond is the request rate so far.
func (s Stats) ExecsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Executions) / s.Elapsed.Seconds()
}

// Summary is the outcome of a run.
type Summary struct {
	Target     string
	Seed       int64
	Strict     bool
	PICS       map[string]bool
	Started    time.Time
	Elapsed    time.Duration
	Iterations int
	// Executions counts requests sent: inputs, minimisation and liveness probes.
	Executions int
	Findings   []Finding
	// Duplicates counts inputs that broke an oracle in a way already found.
	Duplicates int
	// Stopped says why the run ended before its budget ("" when it did not).
	Stopped string
}

// Stats returns the summary's counters.
func (s *Summary) Stats() Stats {
	return Stats{Iterations: s.Iterations, Executions: s.Executions, Findings: len(s.Findings), Elapsed: s.Elapsed}
}

// ByOracle counts findings per oracle.
func (s *Summary) ByOracle() map[Oracle]int {
	m := map[Oracle]int{}
	for _, f := range s.Findings {
		m[f.Oracle]++
	}
	return m
}

// startTimeout bounds getting a target's identity, which for an exec target includes starting
// (or restarting) its child process: on a loaded machine that takes longer than one request may.
const startTimeout = 30 * time.Second

// reconnect gets the target going again after a request failed in transport: the exec target
// starts a new child on its next request, and this makes that request the identity query, under
// startTimeout, rather than the next input or the liveness probe, under the per-request timeout.
func (r *runner) reconnect(ctx context.Context, probs []problem) {
	if len(probs) == 0 || (probs[0].oracle != OracleUnresponsive && probs[0].oracle != OracleTargetError) {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, max(r.cfg.Timeout, startTimeout))
	defer cancel()
	if _, err := r.target.Identity(cctx); err != nil {
		r.cfg.Logger.Warn("the target did not come back after a transport failure", "err", err)
	}
}

// probeRequestor is who sends the liveness probe: a node id below harness.FreshRequestors' range,
// so that no input's requestor shares its offers.
var probeRequestor = ota.Requestor{FabricIndex: 1, NodeID: 0x000000000000F0F1}

type runner struct {
	cfg    Config
	target *guard
	id     harness.Identity
	gen    *generator
	probe  Step
	sum    *Summary
	seen   map[string]int // signature → index in sum.Findings
	dead   int            // liveness probes failed in a row
}

func newRunner(ctx context.Context, cfg Config) (*runner, error) {
	if cfg.Target == nil {
		return nil, errors.New("fuzz: Config.Target is required")
	}
	cfg.defaults()
	r := &runner{cfg: cfg, target: newGuard(cfg.Target), seen: map[string]int{}}
	idCtx, cancel := context.WithTimeout(ctx, max(cfg.Timeout, startTimeout))
	id, err := r.target.Identity(idCtx)
	cancel()
	if err != nil {
		r.target.release()
		return nil, fmt.Errorf("%w: %v", harness.ErrUnreachable, err)
	}
	r.id = id
	fields, err := ota.Encode(profileQuery(cfg.Profile))
	if err != nil {
		return nil, fmt.Errorf("fuzz: the profile's query does not encode: %w", err)
	}
	r.probe = Step{Command: ota.CmdQueryImage, Fields: fields, TokenFrom: -1, Note: "liveness probe: the profile's known-good query"}
	roles := 3
	if id.MaxRequestors > 0 {
		roles = min(id.MaxRequestors, 3)
	}
	r.gen = newGenerator(cfg.Seed, cfg.Profile, roles)
	r.sum = &Summary{Target: id.Name, Seed: cfg.Seed, Strict: cfg.Strict, PICS: id.PICS}
	return r, nil
}

// Run fuzzes cfg.Target until the budget is spent, MaxFindings distinct findings are found, the
// target stops answering for good, or ctx ends. A target whose identity cannot be had, or that
// does not answer the known-good query at the start, is an error wrapping harness.ErrUnreachable.
// The summary of an interrupted run is returned with ctx's error.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	r, err := newRunner(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.target.release()
	if ok, why := r.alive(ctx); !ok {
		return nil, fmt.Errorf("%w: the known-good QueryImage got no QueryImageResponse: %s", harness.ErrUnreachable, why)
	}
	return r.run(ctx)
}

func (r *runner) run(ctx context.Context) (*Summary, error) {
	cfg := &r.cfg
	start := cfg.Now()
	r.sum.Started = start
	lastProgress := start
	cfg.Logger.Info("fuzzing", "target", r.id.Name, "seed", cfg.Seed, "iterations", cfg.Iterations, "duration", cfg.Duration)
	for i := 0; r.sum.Stopped == ""; i++ {
		now := cfg.Now()
		r.sum.Elapsed = now.Sub(start)
		if (cfg.Iterations > 0 && i >= cfg.Iterations) || (cfg.Duration > 0 && r.sum.Elapsed >= cfg.Duration) {
			break
		}
		if ctx.Err() != nil {
			r.sum.Stopped = "interrupted: " + ctx.Err().Error()
			break
		}
		if cfg.Progress != nil && now.Sub(lastProgress) >= time.Second {
			lastProgress = now
			cfg.Progress(r.sum.Stats())
		}
		reqs := r.requestors(i)
		steps := r.gen.input(i, reqs)
		out := r.execute(ctx, steps, reqs, false)
		r.sum.Iterations++
		switch {
		case out.stuck:
			r.sum.Stopped = out.stuckErr.Error()
		case len(out.problems) > 0 && ctx.Err() == nil:
			r.found(ctx, i, steps[:out.step+1], reqs, out.problems)
		}
	}
	r.sum.Elapsed = cfg.Now().Sub(start)
	cfg.Logger.Info("fuzzing done", "iterations", r.sum.Iterations, "executions", r.sum.Executions, "findings", len(r.sum.Findings), "stopped", r.sum.Stopped)
	if r.sum.Stopped != "" && ctx.Err() != nil {
		return r.sum, ctx.Err()
	}
	return r.sum, nil
}

// requestors returns iteration i's identities for roles 0, 1 and 2: fresh node ids per iteration
// when the target can act for any requestor, so that no input inherits another's offers and tokens.
func (r *runner) requestors(i int) []ota.Requestor {
	if r.id.MaxRequestors == 0 {
		return harness.FreshRequestors(i)
	}
	out := slices.Clone(harness.DefaultRequestors)
	for j := r.id.MaxRequestors; j < len(out); j++ {
		out[j] = out[0] // roles the target cannot act for are never generated
	}
	return out
}

func (r *runner) probeAs() ota.Requestor {
	if r.id.MaxRequestors == 0 {
		return probeRequestor
	}
	return harness.DefaultRequestors[0]
}

// found records the new findings among problems (minimised), counts the known ones, and checks
// that the target is still alive.
func (r *runner) found(ctx context.Context, iter int, steps []Step, reqs []ota.Requestor, probs []problem) {
	// Liveness first: minimising against a dead target would "minimise" to anything.
	r.reconnect(ctx, probs)
	alive, why := r.alive(ctx)
	if r.sum.Stopped != "" {
		return
	}
	if !alive && r.dead > 0 {
		// Still dead since an earlier finding: what this input broke is a consequence, not a new
		// defect.
		r.dead++
		r.sum.Duplicates++
		if r.dead >= 3 {
			r.sum.Stopped = "the target stopped answering and did not recover (3 liveness probes failed in a row)"
		}
		return
	}
	var firstSteps []Step // the minimised input of the first new finding
	for _, p := range probs {
		if idx, ok := r.seen[p.sig]; ok {
			r.sum.Findings[idx].Duplicates++
			r.sum.Duplicates++
			continue
		}
		if len(r.sum.Findings) >= r.cfg.MaxFindings {
			return
		}
		f := r.newFinding(ctx, iter, steps, reqs, p, alive)
		if firstSteps == nil {
			firstSteps = f.Steps
		}
		r.record(f)
	}
	if alive {
		r.dead = 0
		return
	}
	r.dead++
	last := stepName(steps[len(steps)-1])
	p := problem{oracle: OracleLiveness, level: ota.LevelMust, section: secAnswered + "; ota-provider.md §4.1",
		expected: "QueryImageResponse to the known-good QueryImage", actual: why,
		message: fmt.Sprintf("after %s, the known-good QueryImage got no QueryImageResponse: %s", last, why),
		sig:     signature(OracleLiveness, last)}
	if idx, ok := r.seen[p.sig]; ok {
		r.sum.Findings[idx].Duplicates++
		r.sum.Duplicates++
	} else if len(r.sum.Findings) < r.cfg.MaxFindings {
		f := r.finding(iter, p, steps, steps, reqs, true)
		if firstSteps != nil {
			f.Steps = firstSteps
		}
		f.Exchanges = []harness.ExchangeRecord{{Step: "liveness probe after the input", Requestor: r.probeAs().String(),
			Request: r.probe.Command.String(), RequestHex: hexOf(r.probe.Fields), Status: why}}
		r.record(f)
	}
	if r.dead >= 3 {
		r.sum.Stopped = "the target stopped answering and did not recover (3 liveness probes failed in a row)"
	}
}

func (r *runner) record(f Finding) {
	f.N = len(r.sum.Findings) + 1
	if r.cfg.Out != "" {
		if err := f.write(r.cfg.Out); err != nil {
			r.cfg.Logger.Error("writing a finding file", "dir", r.cfg.Out, "err", err)
		}
	}
	r.seen[f.Signature] = len(r.sum.Findings)
	r.sum.Findings = append(r.sum.Findings, f)
	r.cfg.Logger.Info("finding", "n", f.N, "oracle", f.Oracle, "signature", f.Signature, "file", f.File)
	if len(r.sum.Findings) >= r.cfg.MaxFindings && r.sum.Stopped == "" {
		r.sum.Stopped = fmt.Sprintf("%d findings (the maximum)", r.cfg.MaxFindings)
	}
}

// newFinding minimises the input that gave p (unless the target is dead) and records the
// minimised input's exchanges.
func (r *runner) newFinding(ctx context.Context, iter int, steps []Step, reqs []ota.Requestor, p problem, alive bool) Finding {
	small, reproducible := steps, true
	if alive {
		small, reproducible = r.minimise(ctx, steps, reqs, p.sig)
	}
	f := r.finding(iter, p, small, steps, reqs, reproducible)
	if !alive {
		return f
	}
	// One recorded run of the minimised input, for its exchanges and its own message.
	out := r.execute(ctx, small, reqs, true)
	f.Exchanges = out.exchanges
	for _, q := range out.problems {
		if q.sig == p.sig {
			f.Message, f.Expected, f.Actual = q.message, q.expected, q.actual
		}
	}
	return f
}

func (r *runner) finding(iter int, p problem, steps, original []Step, reqs []ota.Requestor, reproducible bool) Finding {
	probe := r.probe
	return Finding{Version: FileVersion, Seed: r.cfg.Seed, Iteration: iter, Target: r.id.Name, Oracle: p.oracle,
		Level: p.level.String(), Rule: p.rule, Section: p.section, Signature: p.sig, Message: p.message,
		Expected: p.expected, Actual: p.actual, Strict: r.cfg.Strict, Timeout: r.cfg.Timeout,
		Requestors: wireRequestors(reqs), Steps: slices.Clone(steps), Original: slices.Clone(original),
		Probe: &probe, Reproducible: reproducible}
}

// alive sends the known-good query; the target is alive when it gets a QueryImageResponse.
func (r *runner) alive(ctx context.Context) (bool, string) {
	resp, err, _ := r.invoke(ctx, r.probeAs(), r.probe.Command, r.probe.Fields)
	switch {
	case errors.Is(err, errStuck):
		r.sum.Stopped = err.Error()
		return false, err.Error()
	case err != nil:
		return false, firstLine(err.Error())
	case !resp.HasCommand || resp.Command != ota.CmdQueryImageResponse:
		return false, "got " + resp.String()
	}
	if qr, _ := ota.DecodeQueryImageResponse(resp.Fields); qr.Status == ota.StatusUpdateAvailable && qr.UpdateToken != nil {
		r.tidy(ctx, r.probeAs(), qr.UpdateToken)
	}
	return true, ""
}

// tidy tells the provider that an offer is done with (NotifyUpdateApplied with its token, from the
// requestor it was made to), so that it may drop the offer's state: a provider keeps tokens and
// armed downloads for every offer (the reference for a day), and a run makes tens of thousands.
// The answer is not judged; sequences test NotifyUpdateApplied.
func (r *runner) tidy(ctx context.Context, req ota.Requestor, token []byte) {
	fields, err := ota.Encode(ota.NotifyUpdateApplied{UpdateToken: token, SoftwareVersion: r.cfg.Profile.SoftwareVersion})
	if err == nil {
		r.invoke(ctx, req, ota.CmdNotifyUpdateApplied, fields)
	}
}

func (r *runner) invoke(ctx context.Context, req ota.Requestor, cmd ota.CommandID, fields []byte) (ota.Response, error, bool) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	r.sum.Executions++
	resp, err := r.target.Invoke(cctx, req, r.id.Endpoint, ota.ProviderClusterID, cmd, fields)
	timedOut := err != nil && cctx.Err() != nil && ctx.Err() == nil
	return resp, err, timedOut
}

// outcome is one execution of an input.
type outcome struct {
	problems  []problem // of the first step that broke an oracle
	step      int       // its index, -1 when none did
	hung      bool      // that step got no answer in time
	stuck     bool      // the guard refused the call (errStuck)
	stuckErr  error
	exchanges []harness.ExchangeRecord
}

// execute runs the steps in order and stops at the first that breaks an oracle. Tokens of
// UpdateAvailable answers are substituted into later steps that name them.
func (r *runner) execute(ctx context.Context, steps []Step, reqs []ota.Requestor, record bool) outcome {
	out := outcome{step: -1}
	tokens := make([][]byte, len(steps))
	defer func() {
		// Not after a transport failure: the target may be gone, and each request would wait.
		if !out.stuck && (out.step < 0 || (out.problems[0].oracle != OracleUnresponsive && out.problems[0].oracle != OracleTargetError)) {
			for i, t := range tokens {
				if t != nil {
					r.tidy(ctx, reqs[steps[i].Requestor], t)
				}
			}
		}
	}()
	for i, s := range steps {
		if len(s.BDX) > 0 {
			// Inputs with a probe hold nothing else, so its requestor was never offered an image
			// unless the target acts for a fixed set of requestors that earlier inputs used.
			probs, recs, stuck := r.probeBDX(ctx, reqs[s.Requestor], s, r.id.MaxRequestors == 0 && len(steps) == 1, record)
			out.exchanges = append(out.exchanges, recs...)
			if stuck != nil {
				out.stuck, out.stuckErr = true, stuck
				return out
			}
			if len(probs) > 0 && ctx.Err() == nil {
				out.problems, out.step, out.hung = probs, i, probs[0].oracle == OracleUnresponsive
				return out
			}
			continue
		}
		fields := s.Fields
		if s.TokenFrom >= 0 && s.TokenFrom < i && tokens[s.TokenFrom] != nil {
			fields = substituteToken(fields, tokens[s.TokenFrom])
		}
		req := reqs[s.Requestor]
		resp, err, timedOut := r.invoke(ctx, req, s.Command, fields)
		if errors.Is(err, errStuck) {
			out.stuck, out.stuckErr = true, err
			return out
		}
		if ctx.Err() != nil {
			return out // the run was cancelled: nothing to judge
		}
		probs, tok := judge(answer{cmd: s.Command, fields: fields, provider: r.id.NodeID(req.FabricIndex), resp: resp, err: err, timedOut: timedOut}, r.cfg.Strict, r.cfg.Timeout)
		tokens[i] = tok
		if record {
			out.exchanges = append(out.exchanges, exchangeRecord(i, s, req, fields, resp, err))
		}
		if len(probs) > 0 {
			out.problems, out.step, out.hung = probs, i, probs[0].oracle == OracleUnresponsive
			return out
		}
	}
	return out
}

func exchangeRecord(i int, s Step, req ota.Requestor, fields []byte, resp ota.Response, err error) harness.ExchangeRecord {
	rec := harness.ExchangeRecord{Step: fmt.Sprintf("%d: %s", i, s.Note), Requestor: req.String(), Request: s.Command.String(), RequestHex: hexOf(fields)}
	switch {
	case err != nil:
		rec.Status = "transport error: " + firstLine(err.Error())
	case resp.HasCommand:
		rec.Response = resp.Command.String()
		rec.ResponseHex = hexOf(resp.Fields)
		if e, derr := tlv.Decode(resp.Fields); derr == nil {
			rec.Decoded = e.Pretty()
		} else {
			rec.Decoded = "(does not decode: " + derr.Error() + ")"
		}
	default:
		rec.Status = resp.Status.String()
	}
	return rec
}

func hexOf(b []byte) string {
	const max = 512
	if len(b) > max {
		return fmt.Sprintf("%X… (%d octets)", b[:max], len(b))
	}
	return fmt.Sprintf("%X", b)
}
