package im

import (
	"testing"

	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opCreds is the Operational Credentials cluster the gomat capture invokes (Core §11.18).
const opCreds = 0x003E

// The three chip-tool InvokeRequests of the gomat capture decode into what the capture annotates
// and re-encode byte for byte (IM revision 10 kept, CommandFields re-tagged verbatim).
func TestTheChipToolInvokeRequestsOfTheGomatCaptureDecodeAndReencodeByteForByte(t *testing.T) {
	g := loadGomat(t)
	rootCert := unhex(t, g.AddTrustedRoot.RootCert)
	noc, icac, ipk := unhex(t, g.AddNOC.NOC), unhex(t, g.AddNOC.ICAC), unhex(t, g.AddNOC.IPK)
	tests := []struct {
		name    string
		payload string
		path    CommandPath
		check   func(t *testing.T, fields tlv.Element)
	}{
		{"CSRRequest carries the 32-byte nonce", g.CSRRequest.Payload, CommandPath{0, opCreds, 0x04}, func(t *testing.T, f tlv.Element) {
			m, ok := f.Member(tlv.Context(0))
			require.True(t, ok, "CSRNonce")
			assert.Equal(t, unhex(t, g.CSRRequest.CSRNonce), m.Bytes)
		}},
		{"AddTrustedRootCertificate carries the RCAC", g.AddTrustedRoot.Payload, CommandPath{0, g.AddTrustedRoot.Cluster, g.AddTrustedRoot.Command}, func(t *testing.T, f tlv.Element) {
			m, ok := f.Member(tlv.Context(0))
			require.True(t, ok, "RootCACertificate")
			assert.Equal(t, rootCert, m.Bytes)
		}},
		{"AddNOC carries NOC, ICAC, IPK, admin subject and vendor", g.AddNOC.Payload, CommandPath{0, g.AddNOC.Cluster, g.AddNOC.Command}, func(t *testing.T, f tlv.Element) {
			want := map[uint8]func(*tlv.Element){
				0: func(m *tlv.Element) { assert.Equal(t, noc, m.Bytes, "NOCValue") },
				1: func(m *tlv.Element) { assert.Equal(t, icac, m.Bytes, "ICACValue") },
				2: func(m *tlv.Element) { assert.Equal(t, ipk, m.Bytes, "IPKValue") },
				3: func(m *tlv.Element) { assert.Equal(t, g.AddNOC.CaseAdminSubject, m.Uint, "CaseAdminSubject") },
				4: func(m *tlv.Element) { assert.Equal(t, g.AddNOC.AdminVendorID, m.Uint, "AdminVendorId") },
			}
			for tag, check := range want {
				m, ok := f.Member(tlv.Context(tag))
				require.True(t, ok, "field %d", tag)
				check(m)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := unhex(t, tc.payload)
			m, err := DecodeInvokeRequest(payload)
			require.NoError(t, err)
			assert.False(t, m.SuppressResponse)
			assert.False(t, m.TimedRequest)
			assert.Equal(t, uint8(10), m.IMRevision, "chip-tool of 2023 sent revision 10")
			require.Len(t, m.Requests, 1)
			cd := m.Requests[0]
			assert.Equal(t, tc.path, cd.Path)
			assert.Nil(t, cd.Ref)
			require.NotEmpty(t, cd.Fields)
			assert.Equal(t, byte(0x15), cd.Fields[0], "fields come back as an anonymous structure")
			fields, err := tlv.Decode(cd.Fields)
			require.NoError(t, err)
			tc.check(t, fields)

			out, err := m.Append(nil)
			require.NoError(t, err)
			assert.Equal(t, payload, out, "re-encoding differs")
		})
	}
}

// The capture's anonymous fields fed to EncodeInvoke rebuild the capture except for the revision
// octet (chip-tool's 10 against our Revision).
func TestEncodeInvokeRebuildsTheCaptureWithOurRevision(t *testing.T) {
	for _, payload := range gomatPayloads(t) {
		m, err := DecodeInvokeRequest(payload)
		require.NoError(t, err)
		out, err := EncodeInvoke(m.Requests[0].Path, m.Requests[0].Fields, false)
		require.NoError(t, err)
		want := append([]byte(nil), payload...)
		require.Equal(t, []byte{0x24, 0xFF, 0x0A, 0x18}, want[len(want)-4:])
		want[len(want)-2] = Revision
		assert.Equal(t, want, out)
	}
}
