package reference

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/ota/image"
	"github.com/stretchr/testify/require"
)

var r1 = ota.Requestor{FabricIndex: 1, NodeID: 0x1111}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	if cfg.Catalog == nil {
		cat, _, err := DefaultCatalog(context.Background())
		require.NoError(t, err)
		cfg.Catalog = cat
	}
	p, err := New(cfg)
	require.NoError(t, err)
	return p
}

func query(t testing.TB, p *Provider, r ota.Requestor, q ota.QueryImage) ota.QueryImageResponse {
	t.Helper()
	b, err := ota.Encode(q)
	require.NoError(t, err)
	resp := p.Invoke(context.Background(), r, 0, ota.ProviderClusterID, ota.CmdQueryImage, b)
	require.True(t, resp.HasCommand, resp.String())
	qr, fs := ota.CheckQueryImageResponse(resp.Fields, ota.QueryContext{Request: q, ProviderNodeID: p.NodeID(r.FabricIndex)})
	require.Empty(t, fs)
	return qr
}

func defaultQuery() ota.QueryImage {
	return ota.QueryImage{VendorID: DefaultVendorID, ProductID: DefaultProductID, SoftwareVersion: 1, ProtocolsSupported: []ota.DownloadProtocol{ota.ProtocolBDXSynchronous}}
}

// download runs a whole transfer through a Session.
func download(t testing.TB, s bdx.Session, designator string) ([]byte, *bdx.Message) {
	t.Helper()
	m, err := bdx.Encode(bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: 1024, FileDesignator: []byte(designator)})
	require.NoError(t, err)
	reply, done := s.Handle(m)
	if done {
		return nil, reply
	}
	var out []byte
	for n := uint32(0); ; n++ {
		m, _ = bdx.Encode(bdx.BlockQuery{Counter: n})
		reply, _ = s.Handle(m)
		require.NotNil(t, reply)
		body, err := bdx.Decode(*reply)
		require.NoError(t, err)
		switch b := body.(type) {
		case bdx.Block:
			out = append(out, b.Data...)
		case bdx.BlockEOF:
			out = append(out, b.Data...)
			m, _ = bdx.Encode(bdx.BlockAckEOF{Counter: n})
			_, done = s.Handle(m)
			require.True(t, done)
			return out, nil
		}
	}
}

func TestOffersAreBoundToTheRequestorAndItsDesignator(t *testing.T) {
	p := newProvider(t, Config{})
	qr := query(t, p, r1, defaultQuery())
	require.Equal(t, ota.StatusUpdateAvailable, qr.Status)
	u, _ := ota.ParseBDXURI(*qr.ImageURI)
	_, file, _ := DefaultCatalog(context.Background())
	data, refusal := download(t, p.OpenBDX(r1), u.Designator)
	require.Nil(t, refusal)
	require.Equal(t, file, data)
	for _, other := range []ota.Requestor{{FabricIndex: 1, NodeID: 0x2222}, {FabricIndex: 2, NodeID: r1.NodeID}} {
		_, refusal = download(t, p.OpenBDX(other), u.Designator)
		require.NotNil(t, refusal, "requestor %s", other)
		code, ok := statusOf(t, *refusal)
		require.True(t, ok)
		require.Equal(t, bdx.StatusFileDesignatorUnknown, code)
	}
}

func statusOf(t testing.TB, m bdx.Message) (bdx.StatusCode, bool) {
	r, err := decodeReport(m)
	require.NoError(t, err)
	return bdx.StatusOf(r)
}

func TestAnOfferNotDownloadedExpires(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	p := newProvider(t, Config{Now: c.Now})
	qr := query(t, p, r1, defaultQuery())
	u, _ := ota.ParseBDXURI(*qr.ImageURI)
	c.Advance(DefaultOfferTTL + time.Second)
	query(t, p, ota.Requestor{FabricIndex: 1, NodeID: 0x9999}, defaultQuery()) // any query sweeps
	_, refusal := download(t, p.OpenBDX(r1), u.Designator)
	require.NotNil(t, refusal, "the expired offer must be disarmed")
}

func TestTokensAreFreshAndThirtyTwoBytes(t *testing.T) {
	p := newProvider(t, Config{})
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		qr := query(t, p, r1, defaultQuery())
		require.Len(t, qr.UpdateToken, 32)
		require.False(t, seen[string(qr.UpdateToken)])
		seen[string(qr.UpdateToken)] = true
	}
}

func TestScenariosAreOneShotOrStickyAsDocumented(t *testing.T) {
	p := newProvider(t, Config{})
	require.NoError(t, p.SetScenario(scenario.Request{Name: scenario.Busy, Delay: 60}))
	qr := query(t, p, r1, defaultQuery())
	require.Equal(t, ota.StatusBusy, qr.Status)
	require.Equal(t, uint32(60), *qr.DelayedActionTime)
	require.Equal(t, ota.StatusUpdateAvailable, query(t, p, r1, defaultQuery()).Status)

	require.NoError(t, p.SetScenario(scenario.Request{Name: scenario.NotAvailable}))
	require.Equal(t, ota.StatusNotAvailable, query(t, p, r1, defaultQuery()).Status)
	require.Equal(t, ota.StatusNotAvailable, query(t, p, r1, defaultQuery()).Status)
	require.NoError(t, p.SetScenario(scenario.Request{Name: scenario.Default}))
	require.Equal(t, ota.StatusUpdateAvailable, query(t, p, r1, defaultQuery()).Status)
	require.Error(t, p.SetScenario(scenario.Request{Name: "bogus"}))
}

func TestInvokeChecksEndpointClusterAndCommand(t *testing.T) {
	p := newProvider(t, Config{})
	b, _ := ota.Encode(defaultQuery())
	ctx := context.Background()
	require.Equal(t, im.UnsupportedEndpoint, p.Invoke(ctx, r1, 7, ota.ProviderClusterID, ota.CmdQueryImage, b).Status)
	require.Equal(t, im.UnsupportedCluster, p.Invoke(ctx, r1, 0, 0x2A, ota.CmdQueryImage, b).Status)
	require.Equal(t, im.UnsupportedCommand, p.Invoke(ctx, r1, 0, ota.ProviderClusterID, ota.CmdApplyUpdateResponse, b).Status)
}

func TestManyRequestorsAtOnce(t *testing.T) {
	p := newProvider(t, Config{BDX: bdx.Config{MaxTransfers: 64}})
	_, file, _ := DefaultCatalog(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(r ota.Requestor) {
			defer wg.Done()
			qr := query(t, p, r, defaultQuery())
			u, _ := ota.ParseBDXURI(*qr.ImageURI)
			data, refusal := download(t, p.OpenBDX(r), u.Designator)
			if refusal != nil || !bytes.Equal(data, file) {
				t.Errorf("requestor %s: refusal %v, %d bytes", r, refusal, len(data))
			}
			ar := p.Invoke(context.Background(), r, 0, ota.ProviderClusterID, ota.CmdApplyUpdateRequest, mustEnc(t, ota.ApplyUpdateRequest{UpdateToken: qr.UpdateToken, NewVersion: 2}))
			if !ar.HasCommand {
				t.Errorf("apply: %s", ar)
			}
		}(ota.Requestor{FabricIndex: uint8(1 + i%2), NodeID: uint64(0x100 + i)})
	}
	wg.Wait()
}

func mustEnc(t testing.TB, c ota.Command) []byte {
	b, err := ota.Encode(c)
	require.NoError(t, err)
	return b
}

func TestLoadDirValidatesEveryImageAndNamesTheBadOne(t *testing.T) {
	dir := t.TempDir()
	file, err := DefaultImage(context.Background())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.ota"), file, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644))
	c, err := LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, c.Images(), 1)
	require.Equal(t, "good.ota", c.Images()[0].Designator)
	require.NoError(t, c.Close())

	bad := bytes.Clone(file)
	bad[len(bad)-1] ^= 0xFF
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.ota"), bad, 0o644))
	_, err = LoadDir(dir)
	require.ErrorIs(t, err, image.ErrDigestMismatch)
	require.ErrorContains(t, err, "bad.ota")
}

func TestSelectOffersTheNewestApplicableImage(t *testing.T) {
	ctx := context.Background()
	mk := func(version uint32, min, max *uint32) *Image {
		var buf bytes.Buffer
		_, err := image.Write(ctx, &buf, image.HeaderOptions{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: version,
			SoftwareVersionString: "v", MinApplicableSoftwareVersion: min, MaxApplicableSoftwareVersion: max}, bytes.NewReader([]byte("payload")))
		require.NoError(t, err)
		im, err := MemoryImage(ctx, "img-"+string(rune('a'+version))+".ota", buf.Bytes())
		require.NoError(t, err)
		return im
	}
	c, err := NewCatalog(mk(2, nil, nil), mk(5, ota.Ptr[uint32](3), nil), mk(4, nil, nil))
	require.NoError(t, err)
	require.Equal(t, uint32(4), c.Select(0xFFF1, 0x8000, 1).Header.SoftwareVersion, "v5 needs at least v3")
	require.Equal(t, uint32(5), c.Select(0xFFF1, 0x8000, 3).Header.SoftwareVersion)
	require.Nil(t, c.Select(0xFFF1, 0x8000, 5))
	require.Nil(t, c.Select(0xFFF2, 0x8000, 1))
}

func decodeReport(m bdx.Message) (securechannel.StatusReport, error) {
	return securechannel.DecodeStatusReport(m.Payload)
}
