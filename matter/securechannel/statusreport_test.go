package securechannel

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatusReportSuccessAfterPASEHasTheSpecBytes(t *testing.T) {
	// matter-transport.md §2.7: success after PASE/CASE = 00 00 | 00 00 00 00 | 00 00.
	r := StatusReport{General: GeneralSuccess, ProtocolID: 0, ProtocolCode: CodeSessionEstablishmentSuccess}
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0}, r.Encode())
	require.True(t, r.IsSuccess())
}

func TestStatusReportBDXFailureRoundTrips(t *testing.T) {
	r := StatusReport{General: GeneralFailure, ProtocolID: 0x00000002, ProtocolCode: 0x52}
	b := r.Encode()
	require.Equal(t, []byte{1, 0, 2, 0, 0, 0, 0x52, 0}, b)
	got, err := DecodeStatusReport(b)
	require.NoError(t, err)
	require.Equal(t, r, got)
	require.False(t, got.IsSuccess())
}

func TestShortStatusReportIsRejectedWithItsLength(t *testing.T) {
	_, err := DecodeStatusReport([]byte{1, 0, 2})
	require.ErrorContains(t, err, "3 bytes")
}

func FuzzDecodeStatusReport(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 2, 0, 0, 0, 0x52, 0, 0xAA})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := DecodeStatusReport(p)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Encode(), p) {
			t.Fatalf("re-encode differs: %X vs %X", r.Encode(), p)
		}
	})
}
