package cases

import (
	"context"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

// defective is a test double: the reference provider with one seeded defect.
type defective struct {
	*reference.Provider
	defect string
}

func (d *defective) Invoke(ctx context.Context, r ota.Requestor, ep uint16, cl uint32, cmd ota.CommandID, fields []byte) ota.Response {
	if cmd == ota.CmdQueryImage && d.defect == "location-accepted" {
		// Accept any Location: drop it before the reference sees it.
		if q, v := ota.DecodeQueryImage(fields); v != nil && v.Problems[0].Field == "QueryImage.Location" {
			q.Location = nil
			fields, _ = ota.Encode(q)
		}
	}
	resp := d.Provider.Invoke(ctx, r, ep, cl, cmd, fields)
	if d.defect == "bare-success" && resp.HasCommand {
		return ota.StatusOnly(im.Success)
	}
	if !resp.HasCommand || resp.Command != ota.CmdQueryImageResponse {
		return resp
	}
	qr, _ := ota.DecodeQueryImageResponse(resp.Fields)
	switch d.defect {
	case "token-7":
		if qr.UpdateToken != nil {
			qr.UpdateToken = qr.UpdateToken[:7]
		}
	case "no-version-string":
		qr.SoftwareVersionString = nil
	case "uri-lowercase":
		if qr.ImageURI != nil {
			u := *qr.ImageURI
			u = u[:6] + strings.ToLower(u[6:22]) + u[22:]
			qr.ImageURI = &u
		}
	case "busy-without-delay":
		if qr.Status == ota.StatusBusy {
			qr.DelayedActionTime = nil
		}
	}
	out, err := ota.CommandResponse(qr)
	if err != nil {
		panic(err)
	}
	return out
}

func (d *defective) OpenBDX(r ota.Requestor) bdx.Session { return d.Provider.OpenBDX(r) }

func (d *defective) SetScenario(s scenario.Request) error { return d.Provider.SetScenario(s) }

func TestSeededDefectsFailTheRightCaseNamingTheRule(t *testing.T) {
	cases := []struct {
		defect string
		caseID string
		rule   string // a text the failure must contain
	}{
		{"token-7", "TC-SU-3.2/1a", "QueryImageResponse.UpdateToken: length 7, below the minimum 8 octets"},
		{"no-version-string", "TC-SU-3.2/1a", "must carry ImageURI, SoftwareVersion, SoftwareVersionString and UpdateToken; missing: SoftwareVersionString"},
		{"location-accepted", "11.20.6.5.1/location-3", "CONSTRAINT_ERROR (0x87) for QueryImage.Location: length 3, must be exactly 2 bytes of UTF-8"},
		{"uri-lowercase", "TC-SU-3.2/3", "uses lowercase hex; it must be 16 uppercase hex digits"},
		{"busy-without-delay", "TC-SU-3.2/5", "Busy must carry DelayedActionTime; absent"},
		{"bare-success", "11.20.6.5.1/location-2", "a valid QueryImage must be answered with QueryImageResponse"},
	}
	cat, _, err := reference.DefaultCatalog(context.Background())
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.defect, func(t *testing.T) {
			p, err := reference.New(reference.Config{Catalog: cat})
			require.NoError(t, err)
			target := harness.InProcess("defective", &defective{Provider: p, defect: c.defect}, []uint8{1, 2}, ReferencePICS)
			rep, err := harness.Run(context.Background(), target, All(), harness.Options{})
			require.NoError(t, err)
			var found bool
			for _, r := range rep.Results {
				if r.ID != c.caseID {
					continue
				}
				found = true
				require.Equal(t, harness.Fail, r.Outcome, "case %s should fail", r.ID)
				var msgs []string
				for _, f := range r.Failures {
					msgs = append(msgs, f.Message)
				}
				require.Contains(t, strings.Join(msgs, "\n"), c.rule)
			}
			require.True(t, found, "case %s did not run", c.caseID)
			require.False(t, rep.OK())
		})
	}
}
