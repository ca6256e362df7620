package fuzz

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/adapter"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as an adapter child: with OTACONF_FUZZ_CHILD set it serves the reference
// provider, or the seeded double with the bugs the variable lists, on stdin/stdout.
func TestMain(m *testing.M) {
	if bugs := os.Getenv("OTACONF_FUZZ_CHILD"); bugs != "" {
		os.Exit(serveChild(bugs))
	}
	os.Exit(m.Run())
}

func serveChild(bugs string) int {
	ctx := context.Background()
	p, err := newReference()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var prov adapter.Provider = p
	if bugs != "reference" {
		prov = &seeded{Provider: p, bugs: parseBugs(bugs), release: make(chan struct{})}
	}
	if err := adapter.Serve(ctx, os.Stdin, os.Stdout, prov, adapter.ServeOptions{Fabrics: []uint8{1, 2}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func newReference() (*reference.Provider, error) {
	cat, _, err := reference.DefaultCatalog(context.Background())
	if err != nil {
		return nil, err
	}
	return reference.New(reference.Config{Catalog: cat, NodeIDs: map[uint8]uint64{2: reference.DefaultNodeID + 1},
		HTTPSBaseURL: "https://ota.example.invalid/images/"})
}

// The seeded bugs of the issue.
const (
	bugLocation3     = "location-3"     // accepts a 3-character Location
	bugToken7        = "token-7"        // answers a 7-byte UpdateToken
	bugNoVersionStr  = "no-version-str" // drops SoftwareVersionString
	bugPanicOddMeta  = "panic-odd-meta" // panics on an odd-length MetadataForProvider
	bugHangOddMeta   = "hang-odd-meta"  // stops answering on an odd-length MetadataForProvider
	allFourBugs      = bugLocation3 + "," + bugToken7 + "," + bugNoVersionStr + "," + bugPanicOddMeta
	hangBug          = bugHangOddMeta
	referenceNoBugs  = "reference"
	childEnvVariable = "OTACONF_FUZZ_CHILD"
)

func parseBugs(s string) map[string]bool {
	m := map[string]bool{}
	for _, b := range strings.Split(s, ",") {
		m[b] = true
	}
	return m
}

// seeded is a test double: the reference provider with seeded bugs.
type seeded struct {
	*reference.Provider
	bugs    map[string]bool
	release chan struct{} // a hung call returns when this closes (in-process only)
}

func (d *seeded) Invoke(ctx context.Context, r ota.Requestor, ep uint16, cl uint32, cmd ota.CommandID, fields []byte) ota.Response {
	if cmd == ota.CmdQueryImage {
		q, v := ota.DecodeQueryImage(fields)
		if len(q.MetadataForProvider)%2 == 1 {
			if d.bugs[bugPanicOddMeta] {
				panic(fmt.Sprintf("seeded bug: %d-octet MetadataForProvider", len(q.MetadataForProvider)))
			}
			if d.bugs[bugHangOddMeta] {
				<-d.release // ignores ctx, as a deadlocked provider would
				return ota.StatusOnly(0x01)
			}
		}
		if d.bugs[bugLocation3] && q.Location != nil && len(*q.Location) == 3 && v != nil && v.Status == im.ConstraintError && onlyAbout(v, "QueryImage.Location") {
			q.Location = nil
			fields, _ = ota.Encode(q)
		}
	}
	resp := d.Provider.Invoke(ctx, r, ep, cl, cmd, fields)
	if !resp.HasCommand || resp.Command != ota.CmdQueryImageResponse {
		return resp
	}
	qr, _ := ota.DecodeQueryImageResponse(resp.Fields)
	if d.bugs[bugToken7] && qr.UpdateToken != nil {
		qr.UpdateToken = qr.UpdateToken[:7]
	}
	if d.bugs[bugNoVersionStr] {
		qr.SoftwareVersionString = nil
	}
	out, err := ota.CommandResponse(qr)
	if err != nil {
		panic(err)
	}
	return out
}

func onlyAbout(v *ota.Verdict, field string) bool {
	for _, p := range v.Problems {
		if p.Field != field {
			return false
		}
	}
	return true
}

func (d *seeded) OpenBDX(r ota.Requestor) bdx.Session { return d.Provider.OpenBDX(r) }

func referenceTarget(t testing.TB) harness.Target {
	p, err := newReference()
	require.NoError(t, err)
	return harness.InProcess("embedded reference", p, []uint8{1, 2}, nil)
}

func seededTarget(t testing.TB, bugs string) harness.Target {
	p, err := newReference()
	require.NoError(t, err)
	d := &seeded{Provider: p, bugs: parseBugs(bugs), release: make(chan struct{})}
	t.Cleanup(func() { close(d.release) })
	return harness.InProcess("seeded double "+bugs, d, []uint8{1, 2}, nil)
}

func childCommand(bugs string) string {
	return fmt.Sprintf("%s=%s exec %q -test.run=^$", childEnvVariable, bugs, os.Args[0])
}

func execTarget(t testing.TB, bugs string) harness.Target {
	target := harness.Exec(childCommand(bugs), io.Discard)
	t.Cleanup(func() { target.Close() })
	return target
}
