package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otaconf/otaconf/cases"
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/pics"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/otaconf/otaconf/reports"
)

// targetFlags are the flags that choose and configure a target, shared by run and fuzz.
type targetFlags struct {
	target          string
	images          string
	vendorID        string
	productID       string
	version         uint32
	expectedVersion uint32
	imageFile       string
	pics            []string
	scenarios       []string
}

func (f *targetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "reference", "provider under test: reference (embedded), exec:COMMAND (adapter protocol on stdin/stdout)")
	fl.StringVar(&f.images, "images", "", "directory of .ota files for the embedded reference (default: a generated 1 MiB image)")
	fl.StringVar(&f.vendorID, "vendor-id", "", "requestor VendorID the provider's image is for (default 0xFFF1)")
	fl.StringVar(&f.productID, "product-id", "", "requestor ProductID the provider's image is for (default 0x8000)")
	fl.Uint32Var(&f.version, "requestor-version", 0, "requestor's current SoftwareVersion (default 1)")
	fl.Uint32Var(&f.expectedVersion, "expected-version", 0, "version the provider should offer (default 2 for the generated image, else any newer)")
	fl.StringVar(&f.imageFile, "image", "", "the .ota file staged on the provider, to compare downloads byte for byte")
	fl.StringSliceVar(&f.pics, "pics", nil, "PICS file(s): CI text (CODE=1), CSA XML, a directory of XML or a .zip (repeatable)")
	fl.StringSliceVar(&f.scenarios, "scenario", nil, "scenarios an external provider is set up for (see `otaconf list --scenarios`)")
}

// setup builds the target, the profile and the PICS. Errors are usage errors.
func (f *targetFlags) setup(ctx context.Context, stderr io.Writer) (harness.Target, harness.Options, error) {
	var opts harness.Options
	profile := harness.DefaultProfile
	var target harness.Target
	switch {
	case f.target == "reference":
		p, file, err := newReference(ctx, f.images)
		if err != nil {
			return nil, opts, err
		}
		profile.Image = file
		if f.images != "" {
			profile.ExpectedVersion = 0
		}
		target = harness.InProcess("embedded reference", p, []uint8{1, 2}, cases.ReferencePICS)
	case strings.HasPrefix(f.target, "exec:"):
		command := strings.TrimSpace(strings.TrimPrefix(f.target, "exec:"))
		if command == "" {
			return nil, opts, errors.New("--target exec: needs a command, e.g. exec:'otaconf reference --stdio'")
		}
		target = harness.Exec(command, nil)
		profile.ExpectedVersion = 0
		if f.images == "" && strings.Contains(command, "reference --stdio") && !strings.Contains(command, "--images") {
			// the child serves the same generated image
			_, file, err := reference.DefaultCatalog(ctx)
			if err == nil {
				profile.Image, profile.ExpectedVersion = file, reference.DefaultVersion
			}
		}
	default:
		return nil, opts, fmt.Errorf("unknown --target %q: use reference or exec:COMMAND", f.target)
	}
	if f.vendorID != "" {
		v, err := parseUint16(f.vendorID)
		if err != nil {
			return nil, opts, fmt.Errorf("--vendor-id: %w", err)
		}
		profile.VendorID = v
	}
	if f.productID != "" {
		v, err := parseUint16(f.productID)
		if err != nil {
			return nil, opts, fmt.Errorf("--product-id: %w", err)
		}
		profile.ProductID = v
	}
	if f.version != 0 {
		profile.SoftwareVersion = f.version
	}
	if f.expectedVersion != 0 {
		profile.ExpectedVersion = f.expectedVersion
	}
	if f.imageFile != "" {
		b, err := os.ReadFile(f.imageFile)
		if err != nil {
			return nil, opts, fmt.Errorf("--image: %w", err)
		}
		profile.Image = b
	}
	opts.Profile = profile
	if len(f.pics) > 0 {
		set, warnings, err := pics.Load(f.pics...)
		if err != nil {
			return nil, opts, fmt.Errorf("--pics: %w", err)
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "otaconf: pics: %s\n", w)
		}
		opts.PICS = set.Map()
	}
	for _, s := range f.scenarios {
		n, err := scenario.Parse(s)
		if err != nil {
			return nil, opts, fmt.Errorf("--scenario: %w", err)
		}
		opts.Declared = append(opts.Declared, n)
	}
	return target, opts, nil
}

func parseUint16(s string) (uint16, error) {
	var v uint64
	var err error
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		_, err = fmt.Sscanf(s[2:], "%x", &v)
	} else {
		_, err = fmt.Sscanf(s, "%d", &v)
	}
	if err != nil || v > 0xFFFF {
		return 0, fmt.Errorf("%q is not a 16-bit number (decimal or 0x hex)", s)
	}
	return uint16(v), nil
}

func newRunCmd() *cobra.Command {
	var (
		tf                         targetFlags
		include, exclude, levels   []string
		strict, verbose, noColor   bool
		junitOut, jsonOut, htmlOut string
		seed                       int64
		timeout                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the conformance suite against a provider (default: the embedded reference)",
		Long: `Run the conformance suite. With no arguments it runs every case against the embedded
reference provider serving a generated 1 MiB image.

Exit status: 0 all required cases passed, 1 some failed, 2 usage or configuration error,
3 target unreachable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			target, opts, err := tf.setup(ctx, stderr)
			if err != nil {
				return usageError(err)
			}
			defer target.Close()
			opts.Include, opts.Exclude, opts.Strict, opts.Timeout = splitList(include), splitList(exclude), strict, timeout
			for _, l := range splitList(levels) {
				switch strings.ToUpper(l) {
				case "MUST":
					opts.Levels = append(opts.Levels, ota.LevelMust)
				case "SHOULD":
					opts.Levels = append(opts.Levels, ota.LevelShould)
				case "INFO":
					opts.Levels = append(opts.Levels, ota.LevelInfo)
				default:
					return usageError(fmt.Errorf("--level %q: use must, should or info", l))
				}
			}
			all := cases.All()
			if sel, err := harness.Select(all, opts.Include, opts.Exclude); err != nil {
				return usageError(err)
			} else if len(sel) == 0 {
				return usageError(fmt.Errorf("no case matches --include %v --exclude %v (see otaconf list)", opts.Include, opts.Exclude))
			}
			if !cmd.Flags().Changed("seed") {
				seed = rand.Int64N(1 << 40)
			}
			opts.Seed = seed
			fmt.Fprintf(stderr, "otaconf: seed %d (replay with --seed %d)\n", seed, seed)
			color := !noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
			if isTerminal(stderr) {
				opts.OnResult = func(r harness.Result) { reports.Progress(stderr, r) }
			}
			rep, err := harness.Run(ctx, target, all, opts)
			if errors.Is(err, harness.ErrUnreachable) {
				return exitError(exitUnreachable, err)
			}
			if err != nil && rep == nil {
				return usageError(err)
			}
			reports.Console(stdout, rep, reports.ConsoleOptions{Color: color, Verbose: verbose})
			for _, out := range []struct {
				path  string
				write func(io.Writer, *harness.Report) error
			}{{junitOut, reports.JUnit}, {jsonOut, reports.JSON}, {htmlOut, reports.HTML}} {
				if out.path == "" {
					continue
				}
				if err := writeFile(out.path, func(w io.Writer) error { return out.write(w, rep) }); err != nil {
					return exitError(exitUsage, err)
				}
			}
			if err != nil {
				return exitError(exitFailed, fmt.Errorf("run interrupted: %w", err))
			}
			if !rep.OK() {
				return exitError(exitFailed, nil)
			}
			return nil
		},
	}
	tf.register(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&include, "include", nil, "run only cases matching these ids, prefixes (TC-SU-3.2/) or globs")
	fl.StringSliceVar(&exclude, "exclude", nil, "skip cases matching these ids, prefixes or globs")
	fl.StringSliceVar(&levels, "level", nil, "run only cases of these levels: must, should, info")
	fl.BoolVar(&strict, "strict", false, "SHOULD-level failures fail the run")
	fl.StringVar(&junitOut, "junit", "", "write a JUnit XML report to this file")
	fl.StringVar(&jsonOut, "json", "", "write a JSON report to this file")
	fl.StringVar(&htmlOut, "html", "", "write a self-contained HTML report to this file")
	fl.Int64Var(&seed, "seed", 0, "seed for every random choice (default: random, printed)")
	fl.DurationVar(&timeout, "timeout", harness.DefaultTimeout, "per-case timeout")
	fl.BoolVarP(&verbose, "verbose-report", "V", false, "show exchanges (hex and decoded TLV) of failed cases")
	fl.BoolVar(&noColor, "no-color", false, "never colour the console report")
	return cmd
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
