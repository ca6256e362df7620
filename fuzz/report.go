package fuzz

import (
	"fmt"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
)

// Report turns the summary into a harness report, one failed result per finding (or one passing
// result when there is none), for the reports package's JUnit, JSON and HTML writers.
func (s *Summary) Report() *harness.Report {
	rep := &harness.Report{Target: s.Target, Started: s.Started, Duration: s.Elapsed, Seed: s.Seed, Strict: s.Strict, PICS: s.PICS}
	for _, f := range s.Findings {
		level := ota.LevelMust
		if f.Level == ota.LevelShould.String() {
			level = ota.LevelShould
		}
		log := []string{
			fmt.Sprintf("seed %d, iteration %d; replay with: otaconf fuzz --replay %s", f.Seed, f.Iteration, fileOr(f.File)),
			fmt.Sprintf("signature %s; %d duplicates", f.Signature, f.Duplicates),
		}
		for i, st := range f.Steps {
			if len(st.BDX) > 0 {
				for k, m := range st.BDX {
					log = append(log, fmt.Sprintf("step %d: BDX message %d as role %d: opcode 0x%02X, payload %X (%s)", i, k, st.Requestor, m.Opcode, m.Payload, st.Note))
				}
				continue
			}
			log = append(log, fmt.Sprintf("step %d: %s as role %d, fields %X (%s)", i, st.Command, st.Requestor, st.Fields, st.Note))
		}
		if !f.Reproducible {
			log = append(log, "the input did not give the finding again on its first re-run: not minimised")
		}
		rep.Results = append(rep.Results, harness.Result{
			ID: fmt.Sprintf("fuzz/%s/%d", f.Oracle, f.N), Title: f.Title(), Section: f.Section, Level: level,
			Outcome: harness.Fail, Message: f.Message,
			Failures:  []harness.Failure{{Level: level, Rule: f.Rule, Section: f.Section, Expected: f.Expected, Actual: f.Actual, Message: f.Message}},
			Exchanges: f.Exchanges, Log: log,
		})
	}
	if len(s.Findings) == 0 {
		rep.Results = append(rep.Results, harness.Result{
			ID: "fuzz/clean", Title: fmt.Sprintf("%d inputs, %d requests, no finding", s.Iterations, s.Executions),
			Section: "§11.20.6.5", Level: ota.LevelMust, Outcome: harness.Pass, Duration: s.Elapsed,
			Log: []string{fmt.Sprintf("seed %d", s.Seed)},
		})
	}
	for _, r := range rep.Results {
		rep.Summary.Total++
		if r.Outcome == harness.Fail {
			rep.Summary.Failed++
		} else {
			rep.Summary.Passed++
		}
	}
	return rep
}

func fileOr(path string) string {
	if path == "" {
		return "FILE"
	}
	return path
}
