package fuzz

import (
	"context"
	"fmt"

	"github.com/otaconf/otaconf/harness"
)

// Replay runs a finding file's minimised input against target, with the strictness and timeout the
// finding was seen with, and reports whether the same defect (the same signature) recurs. A
// liveness finding recurs when the known-good query fails after the input. The returned Finding is
// the file's, with the replay's exchanges and Observed set to what the target did.
func Replay(ctx context.Context, target harness.Target, file string) (Finding, bool, error) {
	f, err := ReadFinding(file)
	if err != nil {
		return Finding{}, false, err
	}
	reproduced, err := replay(ctx, target, &f)
	return f, reproduced, err
}

func replay(ctx context.Context, target harness.Target, f *Finding) (bool, error) {
	r, err := newRunner(ctx, Config{Target: target, Strict: f.Strict, Timeout: f.Timeout, Iterations: 1})
	if err != nil {
		return false, err
	}
	defer r.target.release()
	if f.Probe != nil {
		r.probe = *f.Probe
	}
	reqs, err := parseRequestors(f.Requestors)
	if err != nil {
		return false, err
	}
	if r.id.MaxRequestors > 0 {
		reqs = r.requestors(0)
	}
	out := r.execute(ctx, f.Steps, reqs, true)
	f.Exchanges = out.exchanges
	if out.stuck {
		return false, out.stuckErr
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if f.Oracle == OracleLiveness {
		r.reconnect(ctx, out.problems)
		ok, why := r.alive(ctx)
		if ok {
			f.Observed = "the known-good QueryImage still got a QueryImageResponse"
		} else {
			f.Observed = "the known-good QueryImage got no QueryImageResponse: " + why
		}
		return !ok, nil
	}
	for _, p := range out.problems {
		if p.sig == f.Signature {
			f.Observed = fmt.Sprintf("%s %s: %s", p.level, p.oracle, p.message)
			return true, nil
		}
	}
	switch {
	case len(out.problems) > 0:
		p := out.problems[0]
		f.Observed = fmt.Sprintf("another finding (%s): %s", p.sig, p.message)
	default:
		f.Observed = fmt.Sprintf("all %d steps answered as required", len(f.Steps))
	}
	return false, nil
}
