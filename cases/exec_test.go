package cases

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/adapter"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as an adapter child: with OTACONF_ADAPTER_CHILD set it serves the reference
// provider over the adapter protocol on stdin/stdout, misbehaving as the variable says.
func TestMain(m *testing.M) {
	if mode := os.Getenv("OTACONF_ADAPTER_CHILD"); mode != "" {
		os.Exit(serveChild(mode))
	}
	os.Exit(m.Run())
}

func serveChild(mode string) int {
	ctx := context.Background()
	p, err := reference.NewDefault(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var prov adapter.Provider = p
	if mode != "reference" {
		prov = &misbehaving{Provider: p, mode: mode}
	}
	if err := adapter.Serve(ctx, os.Stdin, os.Stdout, prov, adapter.ServeOptions{Fabrics: []uint8{1, 2}, PICS: ReferencePICS}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// misbehaving breaks on QueryImage requests whose MetadataForProvider has an odd length.
type misbehaving struct {
	*reference.Provider
	mode string
}

func (m *misbehaving) Invoke(ctx context.Context, r ota.Requestor, ep uint16, cl uint32, cmd ota.CommandID, fields []byte) ota.Response {
	if cmd == ota.CmdQueryImage {
		if q, _ := ota.DecodeQueryImage(fields); len(q.MetadataForProvider)%2 == 1 {
			switch m.mode {
			case "die":
				fmt.Fprintln(os.Stderr, "misbehaving child: exiting on odd metadata")
				os.Exit(3)
			case "hang":
				select {}
			case "garbage":
				fmt.Println("this is not JSON")
			}
		}
	}
	return m.Provider.Invoke(ctx, r, ep, cl, cmd, fields)
}

func (m *misbehaving) OpenBDX(r ota.Requestor) bdx.Session { return m.Provider.OpenBDX(r) }

func childCommand(mode string) string {
	return fmt.Sprintf("OTACONF_ADAPTER_CHILD=%s exec %q -test.run=^$", mode, os.Args[0])
}

func TestTheSuitePassesThroughTheExecAdapter(t *testing.T) {
	target := harness.Exec(childCommand("reference"), io.Discard)
	defer target.Close()
	_, file, err := reference.DefaultCatalog(context.Background())
	require.NoError(t, err)
	opts := harness.Options{Strict: true, Profile: harness.DefaultProfile}
	opts.Profile.Image = file
	harness.TestTarget(t, target, All(), opts)
}

func TestAChildThatDiesHangsOrWritesGarbageFailsOnlyTheAffectedCases(t *testing.T) {
	for _, mode := range []string{"die", "hang", "garbage"} {
		t.Run(mode, func(t *testing.T) {
			var stderr strings.Builder
			target := harness.Exec(childCommand(mode), &stderr)
			defer target.Close()
			odd := &harness.Case{ID: "x/odd-metadata", Title: "odd metadata", Section: "§11.20.6.5.1", Run: func(t *harness.T) {
				q := t.Query()
				q.MetadataForProvider = []byte{1, 2, 3}
				t.QueryImage(t.Requestor(0), q)
			}}
			sel, err := harness.Select(All(), []string{"TC-SU-3.1/1", "11.20.6.5.5/success"}, nil)
			require.NoError(t, err)
			start := time.Now()
			rep, err := harness.Run(context.Background(), target, append([]*harness.Case{odd}, sel...), harness.Options{Timeout: 2 * time.Second})
			require.NoError(t, err)
			require.Less(t, time.Since(start), 10*time.Second, "the run must not hang")
			require.Len(t, rep.Results, 3)
			require.Equal(t, harness.Error, rep.Results[0].Outcome)
			want := map[string]string{"die": "closed its stdout", "hang": "did not answer invoke in time", "garbage": "not a JSON reply"}[mode]
			require.Contains(t, rep.Results[0].Message, want)
			if mode == "die" {
				require.Contains(t, rep.Results[0].Message, "exiting on odd metadata", "stderr tail is quoted")
			}
			for _, r := range rep.Results[1:] {
				require.Equal(t, harness.Pass, r.Outcome, "%s after a restart: %s", r.ID, r.Message)
			}
		})
	}
}
