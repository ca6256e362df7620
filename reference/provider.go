package reference

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
)

// Defaults.
const (
	DefaultNodeID    uint64 = 0x00000000000B0D01
	DefaultEndpoint  uint16 = 0
	DefaultTokenTTL         = 24 * time.Hour
	DefaultOfferTTL         = 15 * time.Minute // an offer not followed by a download is dropped (bug #5)
	DefaultBusyDelay uint32 = 120              // requestors wait at least 120 s after Busy (§4.6)
	tokenLen                = ota.MaxTokenLen  // 32 random octets, as CHIP and matter.js (§4.4)
)

// Config configures a Provider. Catalog is required; the rest has defaults.
type Config struct {
	Catalog *Catalog
	// NodeID is the provider's operational node id; NodeIDs overrides it per fabric index (a node
	// has one node id per fabric, and the bdx:// host is the one of the accessing fabric).
	NodeID   uint64
	NodeIDs  map[uint8]uint64
	Endpoint uint16
	// HTTPSBaseURL, when set ("https://host/path/"), lets the provider offer HTTPS downloads: the
	// ImageURI is the base URL joined with the designator.
	HTTPSBaseURL string
	// BusyDelay is the DelayedActionTime of Busy answers the provider gives by itself (capacity).
	BusyDelay uint32
	TokenTTL  time.Duration
	OfferTTL  time.Duration
	BDX       bdx.Config
	// Rand is the token source; nil means crypto/rand. Tokens are secrets: only tests inject one.
	Rand   io.Reader
	Now    func() time.Time
	Logger *slog.Logger
}

// Provider is the reference OTA provider. It is safe for concurrent use by many requestors.
type Provider struct {
	cfg    Config
	log    *slog.Logger
	bdx    *bdx.Responder
	arming bdx.Arming

	mu        sync.Mutex
	tokens    map[string]*tokenEntry
	latest    map[ota.Requestor]string // each requestor's newest token (§4.4: only the last one is used)
	offers    map[ota.Requestor]*offer
	deadlines deadlines
	consent   map[consentKey]bool // provider-side consent obtained
	scenario  scenario.Request
	pending   map[scenario.Name]bool // one-shot scenarios not yet used
}

type tokenEntry struct {
	requestor ota.Requestor
	version   uint32
	expires   time.Time
}

// offer is the image armed for a requestor's next download.
type offer struct {
	image   *Image
	token   string
	expires time.Time
}

type consentKey struct {
	r       ota.Requestor
	version uint32
}

// New checks cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Catalog == nil {
		return nil, errors.New("reference: Config.Catalog is required")
	}
	if cfg.NodeID == 0 {
		cfg.NodeID = DefaultNodeID
	}
	if cfg.BusyDelay == 0 {
		cfg.BusyDelay = DefaultBusyDelay
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.OfferTTL == 0 {
		cfg.OfferTTL = DefaultOfferTTL
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPSBaseURL != "" {
		u, err := url.Parse(cfg.HTTPSBaseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("reference: HTTPSBaseURL %q must be an absolute https URL", cfg.HTTPSBaseURL)
		}
		if !strings.HasSuffix(cfg.HTTPSBaseURL, "/") {
			cfg.HTTPSBaseURL += "/"
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Provider{
		cfg: cfg, log: log,
		tokens:  map[string]*tokenEntry{},
		latest:  map[ota.Requestor]string{},
		offers:  map[ota.Requestor]*offer{},
		consent: map[consentKey]bool{},
		pending: map[scenario.Name]bool{},
	}
	p.scenario.Name = scenario.Default
	bcfg := cfg.BDX
	if bcfg.Now == nil {
		bcfg.Now = cfg.Now
	}
	if bcfg.Logger == nil {
		bcfg.Logger = cfg.Logger
	}
	r, err := bdx.NewResponder(p.arming.Lookup, bcfg)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	p.bdx = r
	return p, nil
}

// NodeID returns the provider's node id on the given fabric.
func (p *Provider) NodeID(fabric uint8) uint64 {
	if id, ok := p.cfg.NodeIDs[fabric]; ok {
		return id
	}
	return p.cfg.NodeID
}

// Endpoint returns the endpoint the provider cluster is on.
func (p *Provider) Endpoint() uint16 { return p.cfg.Endpoint }

// Catalog returns the provider's catalog.
func (p *Provider) Catalog() *Catalog { return p.cfg.Catalog }

// SetScenario steers the provider into a scenario (harness/scenario); Default resets.
func (p *Provider) SetScenario(s scenario.Request) error {
	if _, err := scenario.Parse(string(s.Name)); err != nil {
		return err
	}
	if s.Delay == 0 {
		s.Delay = scenario.DefaultDelay
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scenario = s
	clear(p.pending)
	switch s.Name {
	case scenario.Busy, scenario.AwaitNextAction, scenario.Discontinue:
		p.pending[s.Name] = true
	case scenario.ConsentByProvider:
		clear(p.consent)
	}
	return nil
}

// takeOneShot consumes a one-shot scenario. Callers hold p.mu.
func (p *Provider) takeOneShot(n scenario.Name) bool {
	if p.pending[n] {
		delete(p.pending, n)
		return true
	}
	return false
}

// Invoke handles one invoke of the provider cluster from requestor r (Core §8.7 checks first: the
// endpoint and cluster must be ours, the command one we accept).
func (p *Provider) Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) ota.Response {
	switch {
	case endpoint != p.cfg.Endpoint:
		return ota.StatusOnly(im.UnsupportedEndpoint)
	case cluster != ota.ProviderClusterID:
		return ota.StatusOnly(im.UnsupportedCluster)
	}
	if v := ota.ExpectedStatus(cmd, fields); v != nil {
		p.log.Debug("request refused", "requestor", r, "command", cmd, "status", v.Status, "reason", v.Reason())
		return ota.StatusOnly(v.Status)
	}
	var resp ota.Response
	var err error
	switch cmd {
	case ota.CmdQueryImage:
		q, _ := ota.DecodeQueryImage(fields)
		resp, err = ota.CommandResponse(p.query(r, q))
	case ota.CmdApplyUpdateRequest:
		a, _ := ota.DecodeApplyUpdateRequest(fields)
		resp, err = ota.CommandResponse(p.apply(r, a))
	case ota.CmdNotifyUpdateApplied:
		n, _ := ota.DecodeNotifyUpdateApplied(fields)
		p.notify(r, n)
		resp = ota.StatusOnly(im.Success)
	}
	if err != nil {
		p.log.Error("encoding a response failed", "err", err)
		return ota.StatusOnly(im.Failure)
	}
	return resp
}

// query decides a QueryImageResponse (ota-provider.md §4.1).
func (p *Provider) query(r ota.Requestor, q ota.QueryImage) ota.QueryImageResponse {
	now := p.cfg.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	peer := bdx.Peer(r)
	// A new query supersedes the requestor's earlier offer (bugs #4, #5, #15): disarm it.
	p.dropOffer(r)
	notAvailable := ota.QueryImageResponse{Status: ota.StatusNotAvailable}
	switch p.scenario.Name {
	case scenario.NotAvailable, scenario.ConsentDenied:
		return notAvailable
	}
	img := p.cfg.Catalog.Select(q.VendorID, q.ProductID, q.SoftwareVersion)
	if img == nil {
		return notAvailable
	}
	uri, ok := p.imageURI(r, q, img)
	if !ok {
		return ota.QueryImageResponse{Status: ota.StatusDownloadProtocolNotSupported}
	}
	if p.takeOneShot(scenario.Busy) {
		return busy(p.scenario.Delay)
	}
	if strings.HasPrefix(uri, "bdx:") && p.bdx.Active() >= p.maxTransfers() {
		return busy(p.cfg.BusyDelay)
	}
	resp := ota.QueryImageResponse{Status: ota.StatusUpdateAvailable}
	canConsent := q.RequestorCanConsent != nil && *q.RequestorCanConsent
	switch p.scenario.Name {
	case scenario.ConsentByRequestor:
		if canConsent {
			resp.UserConsentNeeded = ota.Ptr(true)
			break
		}
		fallthrough
	case scenario.ConsentByProvider:
		key := consentKey{r, img.Header.SoftwareVersion}
		if !p.consent[key] {
			// Asking our user now; the answer is taken as yes by the next query (§4.7).
			p.consent[key] = true
			return busy(p.scenario.Delay)
		}
		if canConsent {
			resp.UserConsentNeeded = ota.Ptr(false)
		}
	}
	token := make([]byte, tokenLen)
	if _, err := io.ReadFull(p.cfg.Rand, token); err != nil {
		p.log.Error("token source failed", "err", err)
		return busy(p.cfg.BusyDelay)
	}
	// A requestor presents the token of the last QueryImageResponse (§4.4); an older one is
	// answered as unknown, so it need not be kept.
	p.dropToken(p.latest[r])
	key := string(token)
	p.tokens[key] = &tokenEntry{requestor: r, version: img.Header.SoftwareVersion, expires: now.Add(p.cfg.TokenTTL)}
	p.latest[r] = key
	p.schedule(deadline{at: p.tokens[key].expires, token: key})
	if strings.HasPrefix(uri, "bdx:") {
		p.arming.Arm(peer, []byte(img.Designator), img.File)
		p.offers[r] = &offer{image: img, token: key, expires: now.Add(p.cfg.OfferTTL)}
		p.schedule(deadline{at: p.offers[r].expires, r: r})
	}
	resp.ImageURI = &uri
	resp.SoftwareVersion = ota.Ptr(img.Header.SoftwareVersion)
	resp.SoftwareVersionString = ota.Ptr(img.Header.SoftwareVersionString)
	resp.UpdateToken = token
	p.log.Info("offer", "requestor", r, "image", img.Designator, "version", img.Header.SoftwareVersion)
	return resp
}

func busy(delay uint32) ota.QueryImageResponse {
	return ota.QueryImageResponse{Status: ota.StatusBusy, DelayedActionTime: ota.Ptr(delay)}
}

func (p *Provider) maxTransfers() int {
	if p.cfg.BDX.MaxTransfers > 0 {
		return p.cfg.BDX.MaxTransfers
	}
	return bdx.DefaultMaxTransfers
}

// imageURI picks the download protocol (§11.20.3.3.1): BDX synchronous when listed, else HTTPS when
// listed and configured; false when none fits.
func (p *Provider) imageURI(r ota.Requestor, q ota.QueryImage, img *Image) (string, bool) {
	has := func(d ota.DownloadProtocol) bool {
		for _, x := range q.ProtocolsSupported {
			if x == d {
				return true
			}
		}
		return false
	}
	if has(ota.ProtocolBDXSynchronous) {
		u, err := ota.MakeBDXURI(p.NodeID(r.FabricIndex), img.Designator)
		return u, err == nil
	}
	if has(ota.ProtocolHTTPS) && p.cfg.HTTPSBaseURL != "" {
		return p.cfg.HTTPSBaseURL + img.Designator, true
	}
	return "", false
}

// apply answers ApplyUpdateRequest (§11.20.6.5.3, ota-provider.md §4.9). The answer never depends on
// download progress; unknown tokens (never issued, or a requestor's node id after it lost state) get
// a normal answer.
func (p *Provider) apply(r ota.Requestor, a ota.ApplyUpdateRequest) ota.ApplyUpdateResponse {
	now := p.cfg.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	if p.takeOneShot(scenario.AwaitNextAction) {
		return ota.ApplyUpdateResponse{Action: ota.ActionAwaitNextAction, DelayedActionTime: p.scenario.Delay}
	}
	if p.takeOneShot(scenario.Discontinue) {
		// Withdraw the offer: the token dies and the download is disarmed; the next QueryImage
		// starts the whole process again (TC-SU-3.4 step 3).
		if t := p.tokens[string(a.UpdateToken)]; t != nil && t.requestor == r {
			p.dropToken(string(a.UpdateToken)) // only the asker's own token: tokens are per (fabric, node)
		}
		p.dropOffer(r)
		return ota.ApplyUpdateResponse{Action: ota.ActionDiscontinue}
	}
	return ota.ApplyUpdateResponse{Action: ota.ActionProceed}
}

// notify records NotifyUpdateApplied (§11.20.6.5.5): bookkeeping only, always SUCCESS.
func (p *Provider) notify(r ota.Requestor, n ota.NotifyUpdateApplied) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(p.cfg.Now())
	if t := p.tokens[string(n.UpdateToken)]; t != nil && t.requestor == r {
		p.dropToken(string(n.UpdateToken))
		if o := p.offers[r]; o != nil && o.token == string(n.UpdateToken) {
			p.dropOffer(r)
		}
	}
	p.log.Info("update applied", "requestor", r, "version", n.SoftwareVersion)
}
