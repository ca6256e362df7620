package reference

import (
	"testing"
	"time"

	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

func TestStateStaysBoundedUnderManyOffers(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	p := newProvider(t, Config{Now: c.Now})
	for i := 0; i < 5000; i++ {
		query(t, p, r1, defaultQuery())
	}
	require.Len(t, p.tokens, 1, "only the requestor's last token is kept (§4.4)")
	require.Len(t, p.offers, 1)
	require.LessOrEqual(t, len(p.deadlines), 2*2+1024+2, "stale deadlines are compacted")

	for i := 0; i < 3000; i++ {
		r := ota.Requestor{FabricIndex: 1, NodeID: uint64(0x10000 + i)}
		qr := query(t, p, r, defaultQuery())
		p.notify(r, ota.NotifyUpdateApplied{UpdateToken: qr.UpdateToken, SoftwareVersion: 2})
	}
	require.Len(t, p.tokens, 1)
	require.Len(t, p.offers, 1)

	c.Advance(DefaultTokenTTL + time.Second)
	query(t, p, ota.Requestor{FabricIndex: 2, NodeID: 7}, ota.QueryImage{VendorID: 1, ProtocolsSupported: []ota.DownloadProtocol{0}})
	require.Empty(t, p.tokens, "everything lapsed")
	require.Empty(t, p.offers)
	require.Empty(t, p.deadlines)
}

func BenchmarkQueryWithManyLiveOffers(b *testing.B) {
	p := newProvider(b, Config{})
	for i := 0; i < 10000; i++ {
		query(b, p, ota.Requestor{FabricIndex: 1, NodeID: uint64(0x10000 + i)}, defaultQuery())
	}
	b.ReportAllocs()
	for b.Loop() {
		query(b, p, r1, defaultQuery())
	}
}
