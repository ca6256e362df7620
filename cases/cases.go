// Package cases holds otaconf's conformance cases: every provider-side step of the certification test
// plan (TC-SU-3.1 to 3.4; TC-BDX-1.4, 1.6 and 2.1), one case per normative rule of the cluster
// (ota-provider.md §2 and §4), and the known bug classes of §9. One file per test-plan case or spec
// section; each case names its section, test-plan step, level and PICS.
package cases

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/ota/image"
)

// PICS codes the cases use (pics.md §2).
const (
	PICSProvider          = "MCORE.OTA.Provider"
	PICSHTTPS             = "MCORE.OTA.HTTPS"
	PICSDelayedActionTime = "OTAP.S.M.DelayedActionTime"
	PICSUserConsentNeeded = "OTAP.S.M.UserConsentNeeded"
	PICSBDXSender         = "MCORE.BDX.Sender"
	PICSBDXResponder      = "MCORE.BDX.Responder"
	PICSBDXSyncSender     = "MCORE.BDX.SynchronousSender"
)

var registry []*harness.Case

func register(cs ...*harness.Case) { registry = append(registry, cs...) }

// All returns every case, ordered by id.
func All() []*harness.Case {
	out := append([]*harness.Case(nil), registry...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ReferencePICS are the PICS the embedded reference provider declares.
var ReferencePICS = map[string]bool{
	PICSProvider: true, PICSHTTPS: true, PICSDelayedActionTime: true, PICSUserConsentNeeded: true,
	PICSBDXSender: true, PICSBDXResponder: true, PICSBDXSyncSender: true,
	"MCORE.BDX.AsynchronousSender": false, "MCORE.BDX.Initiator": false, "MCORE.BDX.Receiver": false,
}

var (
	providerPICS = []string{PICSProvider}
	bdxPICS      = []string{PICSProvider, PICSBDXSender, PICSBDXResponder}
)

// r0, r1, r2: the main requestor, another node on its fabric, the main node on a second fabric.
func r0(t *harness.T) ota.Requestor { return t.Requestor(0) }
func r1(t *harness.T) ota.Requestor { return t.Requestor(1) }
func r2(t *harness.T) ota.Requestor { return t.Requestor(2) }

// offer asks for the profile's update as the main requestor and requires UpdateAvailable.
func offer(t *harness.T) harness.Offer { return t.ExpectOffer(r0(t), t.Query()) }

// verifyImage checks that a downloaded file is a valid OTA image whose header agrees with the offer
// (TC-SU-3.2 step 1: the SoftwareVersion is the version of the image served; TC-SU-3.3 step 1: the
// image is valid).
// randBytes returns n bytes from the case's seeded source.
func randBytes(t *harness.T, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(t.Rand().Uint32())
	}
	return b
}

func verifyImage(t *harness.T, data []byte, o harness.Offer) image.Header {
	res, err := image.Verify(t.Context(), bytes.NewReader(data))
	h := res.Header
	if err != nil {
		t.Failf(ota.LevelMust, "image.valid", "§11.21 (OTA image format), TC-SU-3.3 step 1", "a valid OTA image", err.Error(),
			"the downloaded file is not a valid OTA image")
		return h
	}
	p := t.Profile()
	t.Expect(ota.LevelMust, "TC-SU-3.2 step 1", "image header SoftwareVersion vs offered SoftwareVersion", fmt.Sprint(o.Version), fmt.Sprint(h.SoftwareVersion))
	if o.Response.SoftwareVersionString != nil {
		t.Expect(ota.LevelShould, "ota-provider.md §4.5", "image header SoftwareVersionString vs offered SoftwareVersionString",
			*o.Response.SoftwareVersionString, h.SoftwareVersionString)
	}
	if !image.Applies(h, p.VendorID, p.ProductID, p.SoftwareVersion) {
		t.Failf(ota.LevelMust, "image.applies", "ota-provider.md §4.1 step 3", fmt.Sprintf("an image for VID 0x%04X PID 0x%04X newer than %d", p.VendorID, p.ProductID, p.SoftwareVersion),
			fmt.Sprintf("VID 0x%04X PID 0x%04X version %d", h.VendorID, h.ProductID, h.SoftwareVersion), "the image served does not apply to the requestor")
	}
	return h
}
