package matterjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// enableHint is the one instruction every "unavailable" error ends with.
const enableHint = "to enable: cd interop/matterjs && npm ci (or: bash interop/matterjs/ci-install.sh)"

// pinnedPackages must all be installed at MatterJSVersion (package.json pins them exactly).
var pinnedPackages = []string{"@matter/main", "@matter/nodejs", "@matter/protocol", "@matter/node", "@matter/types"}

// Environment variables that relocate the fixture; both are for unusual setups only.
const (
	envNode = "OTACONF_NODE"         // node binary; default "node" from PATH
	envDir  = "OTACONF_MATTERJS_DIR" // directory holding provider.mjs and node_modules
)

// nodeVersionCheckTimeout bounds `node --version`.
const nodeVersionCheckTimeout = 10 * time.Second

var availableOnce = sync.OnceValue(func() error {
	dir, err := packageDir()
	if err != nil {
		return err
	}
	return checkAvailable(dir, nodeVersion)
})

// Available returns nil when `node` (a version @matter/nodejs 0.17.9 supports: >=20.19 <22, or
// >=22.13) and the pinned node_modules are installed; otherwise an error wrapping ErrUnavailable that
// says what is missing and how to enable the peer. The answer is computed once per process.
func Available() error { return availableOnce() }

// Require makes t depend on the matter.js peer. When it is unavailable, the test is skipped with the
// enable hint, except under CI=true, where it fails: CI must run the interop tests, never skip them.
func Require(t testing.TB) {
	t.Helper()
	requireWith(t, Available(), os.Getenv("CI") == "true")
}

func requireWith(t testing.TB, avail error, ci bool) {
	t.Helper()
	if avail == nil {
		return
	}
	if ci {
		t.Fatalf("CI=true but %v", avail)
		return
	}
	t.Skip(avail.Error())
}

// StartForTest is Require, then Start bounded by t's context, with Stop registered as a cleanup that
// reports an unclean exit as a test error.
func StartForTest(t testing.TB, opts Options) *Peer {
	t.Helper()
	Require(t)
	p, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("starting the matter.js peer: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stopping the matter.js peer: %v", err)
		}
	})
	return p
}

// checkAvailable is Available for a given fixture directory and node version probe.
func checkAvailable(dir string, version func(context.Context) (string, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), nodeVersionCheckTimeout)
	defer cancel()
	v, err := version(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w; %s", ErrUnavailable, err, enableHint)
	}
	if err := checkNodeVersion(v); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, pkg := range pinnedPackages {
		manifest := filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json")
		data, err := os.ReadFile(manifest)
		if err != nil {
			return fmt.Errorf("%w: %s is not installed (%w); %s", ErrUnavailable, pkg, err, enableHint)
		}
		var m struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%w: %s: %w; %s", ErrUnavailable, manifest, err, enableHint)
		}
		if m.Version != MatterJSVersion {
			return fmt.Errorf("%w: %s is %q, the pinned version is %q; %s", ErrUnavailable, pkg, m.Version, MatterJSVersion, enableHint)
		}
	}
	return nil
}

// nodeVersion runs `node --version`.
func nodeVersion(ctx context.Context) (string, error) {
	bin := nodeBinary()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("running %s --version: %w", bin, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// errNodeVersion is wrapped by errors about an unusable node version string or release.
var errNodeVersion = errors.New("unsupported node version")

// parseNodeVersion decodes `node --version` output such as "v20.20.2".
func parseNodeVersion(s string) (major, minor, patch int, err error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "v")
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: %q does not start with 'v'", errNodeVersion, s)
	}
	// Pre-release and build suffixes ("v22.0.0-nightly…") do not change the release ordering we need.
	if i := strings.IndexAny(rest, "-+"); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return 0, 0, 0, fmt.Errorf("%w: %q is not vMAJOR.MINOR.PATCH", errNodeVersion, s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 31)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%w: %q: component %d (%q) is not a number", errNodeVersion, s, i, p)
		}
		nums[i] = int(n)
	}
	return nums[0], nums[1], nums[2], nil
}

// checkNodeVersion applies @matter/nodejs 0.17.9's engines range, ">=20.19.0 <22.0.0 || >=22.13.0"
// (spec/matterjs-peer.md §1): the package.json floor of 20.19 alone would admit 21.x and early 22.x.
func checkNodeVersion(v string) error {
	major, minor, _, err := parseNodeVersion(v)
	if err != nil {
		return err
	}
	ok := (major == 20 && minor >= 19) || (major == 22 && minor >= 13) || major > 22
	if !ok {
		return fmt.Errorf("%w: node %s; matter.js %s needs >=20.19.0 <22.0.0 or >=22.13.0 (install a supported Node.js, then: cd interop/matterjs && npm ci)",
			errNodeVersion, v, MatterJSVersion)
	}
	return nil
}

// packageDir is where provider.mjs and node_modules live: this source file's directory, or
// $OTACONF_MATTERJS_DIR.
func packageDir() (string, error) {
	if d := os.Getenv(envDir); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("%w: cannot locate the interop/matterjs source directory; set %s", ErrUnavailable, envDir)
	}
	dir := filepath.Dir(file)
	if _, err := os.Stat(filepath.Join(dir, "provider.mjs")); err != nil {
		return "", fmt.Errorf("%w: %s has no provider.mjs (%w); set %s", ErrUnavailable, dir, err, envDir)
	}
	return dir, nil
}

func nodeBinary() string {
	if b := os.Getenv(envNode); b != "" {
		return b
	}
	return "node"
}

// peerEnv is the environment of the node process: ours, minus MATTER_* variables. provider.mjs already
// tells matter.js to ignore them; dropping them here keeps a stray one from a developer's shell out of
// even the Node.js bootstrap.
func peerEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MATTER_") {
			out = append(out, kv)
		}
	}
	return out
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
