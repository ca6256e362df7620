package im

import (
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/require"
)

// unhex decodes annotated hex: on each line, the whitespace-separated tokens made of an even
// number of hex digits, up to the first other token; the rest of the line is a comment.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for _, line := range strings.Split(s, "\n") {
		for _, tok := range strings.Fields(line) {
			b, err := hex.DecodeString(tok)
			if err != nil {
				break
			}
			out = append(out, b...)
		}
	}
	require.NotEmpty(t, out, "no hex in %q", s)
	return out
}

// gomatCapture is testdata/commissioning_capture_gomat.json (a copy of shared/vectors).
type gomatCapture struct {
	CSRRequest struct {
		Payload  string `json:"payload"`
		CSRNonce string `json:"csr_nonce"`
	} `json:"csr_request"`
	AddTrustedRoot struct {
		Payload  string `json:"payload"`
		Cluster  uint32 `json:"cluster"`
		Command  uint32 `json:"command"`
		RootCert string `json:"root_cert_tlv"`
	} `json:"add_trusted_root_certificate_request"`
	AddNOC struct {
		Payload          string `json:"payload"`
		Cluster          uint32 `json:"cluster"`
		Command          uint32 `json:"command"`
		NOC              string `json:"noc_tlv"`
		ICAC             string `json:"icac_tlv"`
		IPK              string `json:"ipk_epoch_key"`
		CaseAdminSubject uint64 `json:"case_admin_subject"`
		AdminVendorID    uint64 `json:"admin_vendor_id"`
	} `json:"add_noc_request"`
}

func loadGomat(t testing.TB) gomatCapture {
	t.Helper()
	raw, err := os.ReadFile("testdata/commissioning_capture_gomat.json")
	require.NoError(t, err)
	var g gomatCapture
	require.NoError(t, json.Unmarshal(raw, &g))
	require.NotEmpty(t, g.CSRRequest.Payload)
	require.NotEmpty(t, g.AddTrustedRoot.Payload)
	require.NotEmpty(t, g.AddNOC.Payload)
	return g
}

func gomatPayloads(t testing.TB) [][]byte {
	g := loadGomat(t)
	return [][]byte{unhex(t, g.CSRRequest.Payload), unhex(t, g.AddTrustedRoot.Payload), unhex(t, g.AddNOC.Payload)}
}

func ptr[T any](v T) *T { return &v }

// randomFields builds a random anonymous structure of scalars, strings and nested containers, with
// non-minimal widths now and then, so that tests see odd but well-formed encodings.
func randomFields(t testing.TB, rng *rand.Rand, maxDepth int) []byte {
	t.Helper()
	b, err := tlv.Encode(randomStruct(rng, tlv.Anonymous, maxDepth))
	require.NoError(t, err, "randomFields built an element the tlv writer refuses")
	return b
}

func randomStruct(rng *rand.Rand, tag tlv.Tag, depth int) tlv.Element {
	n := rng.Intn(6)
	members := make([]tlv.Element, 0, n)
	for i := 0; i < n; i++ {
		members = append(members, randomElement(rng, tlv.Context(uint8(rng.Intn(256))), depth-1))
	}
	return tlv.StructElem(tag, members...)
}

func randomElement(rng *rand.Rand, tag tlv.Tag, depth int) tlv.Element {
	widths := []int{0, 0, 0, 1, 2, 4, 8}
	switch k := rng.Intn(9); {
	case k == 0:
		e := tlv.UintElem(tag, rng.Uint64()>>uint(rng.Intn(64)))
		if w := widths[rng.Intn(len(widths))]; w >= tlv.UintWidth(e.Uint) {
			e.Width = w
		}
		return e
	case k == 1:
		return tlv.IntElem(tag, rng.Int63()>>uint(rng.Intn(63))-int64(rng.Intn(100)))
	case k == 2:
		return tlv.BoolElem(tag, rng.Intn(2) == 0)
	case k == 3:
		b := make([]byte, rng.Intn(40))
		rng.Read(b)
		return tlv.BytesElem(tag, b)
	case k == 4:
		return tlv.StringElem(tag, "ü-"+strings.Repeat("x", rng.Intn(20)))
	case k == 5:
		return tlv.NullElem(tag)
	case k == 6 && depth > 0:
		return randomStruct(rng, tag, depth)
	case k == 7 && depth > 0:
		n := rng.Intn(4)
		var ms []tlv.Element
		for i := 0; i < n; i++ {
			ms = append(ms, tlv.UintElem(tlv.Anonymous, uint64(rng.Intn(300))))
		}
		return tlv.ArrayElem(tag, ms...)
	case k == 8 && depth > 0:
		return tlv.ListElem(tag, randomElement(rng, tlv.Anonymous, depth-1), randomElement(rng, tlv.Context(1), depth-1))
	}
	return tlv.Float32Elem(tag, rng.Float32())
}
