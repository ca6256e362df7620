package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otaconf/otaconf/fuzz"
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/reports"
)

func newFuzzCmd() *cobra.Command {
	var (
		tf                         targetFlags
		duration, timeout          time.Duration
		iterations, maxFindings    int
		seed                       int64
		out, replayFile            string
		strict                     bool
		junitOut, jsonOut, htmlOut string
	)
	cmd := &cobra.Command{
		Use:   "fuzz",
		Short: "Fuzz a provider with structure-aware malformed and out-of-order requests",
		Long: `Fuzz a provider (default: the embedded reference) with generated QueryImage,
ApplyUpdateRequest and NotifyUpdateApplied invokes: boundary values of every field, wrong TLV
types, missing, duplicate and unknown tags, non-canonical encodings, truncation, random byte
mutation, oversize payloads, unsupported commands, and sequences with stale, foreign and unknown
tokens. Every answer must come in time, be well formed, carry the status the spec requires for the
input, and pass every response rule; after each finding the profile's known-good query must still
be answered. Findings are minimised and written to --out as replayable files:

  otaconf fuzz --replay otaconf-findings/finding-1-status.json [--target T]

The same --seed gives the same inputs in the same order, whatever the speed.

Exit status: 0 nothing found (or a replayed finding did not recur), 1 findings (or it recurred),
2 usage error, 3 target unreachable at the start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			fl := cmd.Flags()
			switch {
			case fl.Changed("duration") && fl.Changed("iterations"):
				return usageErrorf("--duration and --iterations cannot be used together")
			case duration <= 0 && !fl.Changed("iterations"):
				return usageErrorf("--duration %v: must be positive", duration)
			case fl.Changed("iterations") && iterations <= 0:
				return usageErrorf("--iterations %d: must be positive", iterations)
			case timeout <= 0:
				return usageErrorf("--timeout %v: must be positive", timeout)
			case maxFindings <= 0:
				return usageErrorf("--max-findings %d: must be positive", maxFindings)
			}
			target, opts, err := tf.setup(ctx, stderr)
			if err != nil {
				return usageError(err)
			}
			defer target.Close()

			if replayFile != "" {
				return replayFinding(cmd, target, replayFile)
			}
			if fl.Changed("iterations") {
				duration = 0
			}
			if !fl.Changed("seed") {
				seed = rand.Int64N(1 << 40)
			}
			fmt.Fprintf(stderr, "otaconf: seed %d (the same run again: --seed %d)\n", seed, seed)
			cfg := fuzz.Config{Target: target, Seed: seed, Iterations: iterations, Duration: duration, Timeout: timeout,
				Strict: strict, Profile: opts.Profile, MaxFindings: maxFindings, Out: out, Logger: logger(cmd)}
			progress := isTerminal(stderr)
			if progress {
				cfg.Progress = func(s fuzz.Stats) {
					fmt.Fprintf(stderr, "\r%s ", progressLine(s))
				}
			}
			sum, err := fuzz.Run(ctx, cfg)
			if progress {
				fmt.Fprint(stderr, "\r\033[K")
			}
			if errors.Is(err, harness.ErrUnreachable) {
				return exitError(exitUnreachable, err)
			}
			if sum == nil {
				return usageError(err)
			}
			printSummary(stdout, sum)
			rep := sum.Report()
			for _, o := range []struct {
				path  string
				write func(io.Writer, *harness.Report) error
			}{{junitOut, reports.JUnit}, {jsonOut, reports.JSON}, {htmlOut, reports.HTML}} {
				if o.path == "" {
					continue
				}
				if err := writeFile(o.path, func(w io.Writer) error { return o.write(w, rep) }); err != nil {
					return usageError(err)
				}
			}
			if err != nil {
				return failure(fmt.Errorf("fuzzing interrupted: %w", err))
			}
			if len(sum.Findings) > 0 {
				return exitError(exitFailed, nil)
			}
			return nil
		},
	}
	tf.register(cmd)
	fl := cmd.Flags()
	fl.DurationVar(&duration, "duration", fuzz.DefaultDuration, "how long to fuzz (minimisation included)")
	fl.IntVar(&iterations, "iterations", 0, "fuzz this many inputs instead of for --duration")
	fl.Int64Var(&seed, "seed", 0, "seed of every input (default: random, printed)")
	fl.StringVar(&out, "out", "otaconf-findings", "directory for finding files, created on the first finding")
	fl.DurationVar(&timeout, "timeout", fuzz.DefaultTimeout, "per-request timeout; a request not answered in time is a finding")
	fl.BoolVar(&strict, "strict", false, "SHOULD-level rule failures and tolerated alternative statuses are findings")
	fl.IntVar(&maxFindings, "max-findings", fuzz.DefaultMaxFindings, "stop after this many distinct findings")
	fl.StringVar(&replayFile, "replay", "", "run a finding file again instead of fuzzing; exit 1 when the finding recurs")
	fl.StringVar(&junitOut, "junit", "", "write findings as a JUnit XML report to this file")
	fl.StringVar(&jsonOut, "json", "", "write findings as a JSON report to this file")
	fl.StringVar(&htmlOut, "html", "", "write findings as a self-contained HTML report to this file")
	return cmd
}

func progressLine(s fuzz.Stats) string {
	return fmt.Sprintf("fuzz: %s, %d inputs, %.0f exec/s, %d findings", s.Elapsed.Round(time.Second), s.Iterations, s.ExecsPerSecond(), s.Findings)
}

func printSummary(w io.Writer, s *fuzz.Summary) {
	st := s.Stats()
	fmt.Fprintf(w, "fuzz: target %s, seed %d%s\n", s.Target, s.Seed, map[bool]string{true: ", strict", false: ""}[s.Strict])
	fmt.Fprintf(w, "fuzz: %d inputs, %d requests in %s (%.0f exec/s)\n", s.Iterations, s.Executions, st.Elapsed.Round(time.Millisecond), st.ExecsPerSecond())
	if s.Stopped != "" {
		fmt.Fprintf(w, "fuzz: stopped early: %s\n", s.Stopped)
	}
	if len(s.Findings) == 0 {
		fmt.Fprintln(w, "fuzz: no findings")
		return
	}
	by := s.ByOracle()
	var parts []string
	for _, o := range slices.Sorted(func(yield func(fuzz.Oracle) bool) {
		for o := range by {
			if !yield(o) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d", o, by[o]))
	}
	fmt.Fprintf(w, "fuzz: %d findings (%s)\n", len(s.Findings), strings.Join(parts, ", "))
	for _, f := range s.Findings {
		fmt.Fprintf(w, "  %d. %s %s\n", f.N, f.Level, f.Title())
		if f.Expected != "" {
			fmt.Fprintf(w, "     expected %s, got %s\n", oneLine(f.Expected), oneLine(firstOf(f.Actual)))
		}
		if f.Section != "" {
			fmt.Fprintf(w, "     see %s\n", f.Section)
		}
		where := "not written (no --out)"
		if f.File != "" {
			where = "replay: otaconf fuzz --replay " + filepath.ToSlash(f.File)
		}
		fmt.Fprintf(w, "     %d steps (from %d), %d duplicates; %s\n", len(f.Steps), len(f.Original), f.Duplicates, where)
	}
}

func firstOf(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// replayFinding runs a finding file again: exit 1 and "reproduced" when the finding recurs, 0 and
// "not reproduced" otherwise.
func replayFinding(cmd *cobra.Command, target harness.Target, file string) error {
	stdout := cmd.OutOrStdout()
	if _, err := fuzz.ReadFinding(file); err != nil {
		return usageError(err)
	}
	f, reproduced, err := fuzz.Replay(cmd.Context(), target, file)
	if errors.Is(err, harness.ErrUnreachable) {
		return exitError(exitUnreachable, err)
	}
	if err != nil {
		return usageError(err)
	}
	fmt.Fprintf(stdout, "replay: %s (%s, seen on %s)\n", file, f.Title(), f.Target)
	if reproduced {
		fmt.Fprintf(stdout, "reproduced: %s\n", oneLine(firstOf(f.Observed)))
		return exitError(exitFailed, nil)
	}
	fmt.Fprintf(stdout, "not reproduced: %s\n", oneLine(firstOf(f.Observed)))
	return nil
}
