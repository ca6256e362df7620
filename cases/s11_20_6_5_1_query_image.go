package cases

import (
	"bytes"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// §11.20.6.5.1 QueryImage: one case per field constraint and conformance rule (ota-provider.md §2.1,
// §4.8, §4.11). The expected status comes from the ota package's verdict for the exact bytes sent.

const qiSection = "§11.20.6.5.1"

// statusCase sends fields built by build as requestor 0 and checks the answer against the verdict.
func statusCase(id, title string, cmd ota.CommandID, build func(t *harness.T) []byte) *harness.Case {
	section := map[ota.CommandID]string{ota.CmdQueryImage: qiSection, ota.CmdApplyUpdateRequest: "§11.20.6.5.3",
		ota.CmdNotifyUpdateApplied: "§11.20.6.5.5"}[cmd]
	if section == "" {
		section = "§11.20.6.5"
	}
	return &harness.Case{
		ID: id, Title: title, Section: section, Level: ota.LevelMust, PICS: providerPICS,
		Run: func(t *harness.T) {
			fields := build(t)
			v := ota.ExpectedStatus(cmd, fields)
			resp := t.Invoke(r0(t), cmd, fields)
			t.ExpectStatus(cmd, resp, v)
			if v == nil && cmd == ota.CmdQueryImage && resp.HasCommand {
				q, _ := ota.DecodeQueryImage(fields)
				_, fs := ota.CheckQueryImageResponse(resp.Fields, ota.QueryContext{Request: q, ProviderNodeID: t.Identity().NodeID(r0(t).FabricIndex)})
				t.Findings(fs)
			}
		},
	}
}

// queryWith returns the profile's QueryImage with edit applied, encoded.
func queryWith(edit func(q *ota.QueryImage)) func(t *harness.T) []byte {
	return func(t *harness.T) []byte {
		q := t.Query()
		edit(&q)
		return t.Encode(q)
	}
}

// rawQuery writes the profile's mandatory fields except those in skip, then extra.
func rawQuery(skip []uint8, extra func(w *tlv.Writer)) func(t *harness.T) []byte {
	return func(t *harness.T) []byte {
		p := t.Profile()
		w := tlv.NewWriter(nil)
		w.StartStruct(tlv.Anonymous)
		has := func(n uint8) bool { return !bytes.Contains(skip, []byte{n}) }
		if has(0) {
			w.Uint(tlv.Context(0), uint64(p.VendorID))
		}
		if has(1) {
			w.Uint(tlv.Context(1), uint64(p.ProductID))
		}
		if has(2) {
			w.Uint(tlv.Context(2), uint64(p.SoftwareVersion))
		}
		if has(3) {
			w.StartArray(tlv.Context(3))
			w.Uint(tlv.Anonymous, uint64(ota.ProtocolBDXSynchronous))
			w.End()
		}
		if extra != nil {
			extra(w)
		}
		w.End()
		b, err := w.Finish()
		if err != nil {
			t.Fatalf("building the request: %v", err)
		}
		return b
	}
}

func init() {
	meta := func(n int) []byte { return bytes.Repeat([]byte{0xA5}, n) }
	register(
		statusCase("11.20.6.5.1/location-3", "A 3-character Location is a constraint error", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.Location = ota.Ptr("USA") })),
		statusCase("11.20.6.5.1/location-1", "A 1-character Location is a constraint error", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.Location = ota.Ptr("U") })),
		statusCase("11.20.6.5.1/location-0", "An empty Location is a constraint error", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.Location = ota.Ptr("") })),
		statusCase("11.20.6.5.1/location-2", "A 2-character Location is processed", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.Location = ota.Ptr("DE") })),
		statusCase("11.20.6.5.1/optional-absent", "A QueryImage with only the mandatory fields is processed", ota.CmdQueryImage,
			rawQuery(nil, nil)),
		statusCase("11.20.6.5.1/metadata-512", "MetadataForProvider of 512 octets is processed", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.MetadataForProvider = meta(512) })),
		statusCase("11.20.6.5.1/metadata-513", "MetadataForProvider of 513 octets is a constraint error", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.MetadataForProvider = meta(513) })),
		statusCase("11.20.6.5.1/protocols-8", "ProtocolsSupported with 8 entries is processed", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) {
				q.ProtocolsSupported = []ota.DownloadProtocol{0, 1, 2, 3, 0, 1, 2, 3}
			})),
		statusCase("11.20.6.5.1/protocols-9", "ProtocolsSupported with 9 entries is a constraint error", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) {
				q.ProtocolsSupported = []ota.DownloadProtocol{0, 0, 0, 0, 0, 0, 0, 0, 0}
			})),
		statusCase("11.20.6.5.1/protocols-undefined", "An undefined DownloadProtocolEnum value is a constraint error", ota.CmdQueryImage,
			queryWith(func(q *ota.QueryImage) { q.ProtocolsSupported = []ota.DownloadProtocol{0, 7} })),
		statusCase("11.20.6.5.1/missing-vendor-id", "A QueryImage without VendorID is an invalid command", ota.CmdQueryImage,
			rawQuery([]uint8{0}, nil)),
		statusCase("11.20.6.5.1/missing-software-version", "A QueryImage without SoftwareVersion is an invalid command", ota.CmdQueryImage,
			rawQuery([]uint8{2}, nil)),
		statusCase("11.20.6.5.1/missing-protocols", "A QueryImage without ProtocolsSupported is an invalid command", ota.CmdQueryImage,
			rawQuery([]uint8{3}, nil)),
		statusCase("11.20.6.5.1/wrong-type", "A ProductID sent as a UTF-8 string is an invalid command", ota.CmdQueryImage,
			rawQuery([]uint8{1}, func(w *tlv.Writer) { w.UTF8(tlv.Context(1), "8000") })),
		statusCase("11.20.6.5.1/vendor-id-range", "A VendorID wider than 16 bits is a constraint error", ota.CmdQueryImage,
			rawQuery([]uint8{0}, func(w *tlv.Writer) { w.Uint(tlv.Context(0), 0x1FFF1) })),
		statusCase("11.20.6.5.1/unknown-tags", "Unknown context tags are skipped and the query processed", ota.CmdQueryImage,
			rawQuery(nil, func(w *tlv.Writer) {
				w.UTF8(tlv.Context(8), "future field")
				w.StartStruct(tlv.Context(42))
				w.Uint(tlv.Context(0), 1)
				w.End()
			})),
		statusCase("11.20.6.5.1/duplicate-field", "A QueryImage with VendorID twice is an invalid command (processing it is tolerated at SHOULD level)", ota.CmdQueryImage,
			rawQuery(nil, func(w *tlv.Writer) { w.Uint(tlv.Context(0), uint64(0xFFF1)) })),
		statusCase("11.20.6.5.1/not-a-structure", "Command fields that are not a structure are an invalid command", ota.CmdQueryImage,
			func(*harness.T) []byte { return []byte{0x16, 0x04, 0x00, 0x18} }),
		&harness.Case{
			ID: "11.20.6.5.1/metadata-not-refused", Title: "Unknown or invalid MetadataForProvider does not deny an applicable update",
			Section: qiSection, Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.MetadataForProvider = []byte{0xFF, 0x00, 0x13, 0x37} // not a TLV list of profile-tagged elements
				t.ExpectOffer(r0(t), q)
			},
		},
		&harness.Case{
			ID: "11.20.6.5.1/requestor-can-consent", Title: "RequestorCanConsent = true without a consent setup still gets an offer",
			Section: qiSection, Level: ota.LevelMust, PICS: providerPICS,
			Run: func(t *harness.T) {
				q := t.Query()
				q.RequestorCanConsent = ota.Ptr(true)
				t.ExpectOffer(r0(t), q)
			},
		},
	)
}
