package fuzz

import (
	"encoding/binary"
	"fmt"
	"math"
	mrand "math/rand"
	"math/rand/v2"

	gofuzz "github.com/google/gofuzz"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// generator makes the input of every iteration. Iteration i draws only from
// rand.New(rand.NewPCG(seed, i)), so a run is reproducible whatever its speed, and a run cut short
// by a duration is a prefix of the same run with more iterations.
type generator struct {
	seed    int64
	profile harness.Profile
	roles   int // requestor roles the target can act for (1..3)
	src     pcgSource
	gf      *gofuzz.Fuzzer
}

// pcgSource lets gofuzz draw from the iteration's generator (gofuzz wants a math/rand Source).
type pcgSource struct{ r *rand.Rand }

func (s *pcgSource) Int63() int64 { return s.r.Int64() } // rand/v2's Int64 is non-negative
func (s *pcgSource) Seed(int64)   {}

var _ mrand.Source = (*pcgSource)(nil)

func newGenerator(seed int64, profile harness.Profile, roles int) *generator {
	g := &generator{seed: seed, profile: profile, roles: max(1, min(roles, 3))}
	// The seed given here is never used: RandSource replaces the source on every iteration.
	g.gf = gofuzz.NewWithSeed(seed).NilChance(0.25).NumElements(0, 10).Funcs(fuzzMetadata)
	return g
}

// genCtx is one iteration's view of the generator.
type genCtx struct {
	*generator
	rng  *rand.Rand
	reqs []ota.Requestor
}

// input returns iteration i's input; reqs are the iteration's requestor identities (for node-id
// tokens).
func (gen *generator) input(i int, reqs []ota.Requestor) []Step {
	rng := rand.New(rand.NewPCG(uint64(gen.seed), uint64(i)))
	gen.src.r = rng
	gen.gf.RandSource(&gen.src)
	g := &genCtx{generator: gen, rng: rng, reqs: reqs}
	total := 0
	for _, x := range generators {
		total += x.weight
	}
	n := rng.IntN(total)
	k := 0
	for ; n >= generators[k].weight; k++ {
		n -= generators[k].weight
	}
	steps := generators[k].fn(g)
	for j := range steps {
		steps[j].Note = generators[k].name + ": " + steps[j].Note
	}
	return steps
}

// generators, weighted. Most inputs are a single step with one kind of damage.
var generators = []struct {
	name   string
	weight int
	fn     func(*genCtx) []Step
}{
	{"valid", 14, genValid},
	{"boundary", 22, func(g *genCtx) []Step { return g.mutated(mutBoundary) }},
	{"type", 10, func(g *genCtx) []Step { return g.mutated(mutType) }},
	{"tags", 12, func(g *genCtx) []Step { return g.mutated(mutTags) }},
	{"width", 6, func(g *genCtx) []Step { return g.mutated(mutWidth) }},
	{"truncate", 5, genTruncate},
	{"bytes", 10, genBytes},
	{"oversize", 3, genOversize},
	{"command", 3, genCommand},
	{"sequence", 10, genSequence},
	{"stack", 5, genStack},
	{"bdx", 4, genBDX},
}

// ---- valid values

// metadata is MetadataForProvider as gofuzz draws it (its own type so that the custom length
// distribution does not apply to other byte slices).
type metadata []byte

func fuzzMetadata(m *metadata, c gofuzz.Continue) {
	var n int
	switch x := c.Intn(20); {
	case x < 6:
		*m = nil
		return
	case x < 13:
		n = c.Intn(17)
	case x < 19:
		n = 17 + c.Intn(ota.MaxMetadataLen-16)
	default:
		n = ota.MaxMetadataLen - c.Intn(2)
	}
	b := make([]byte, n)
	c.Read(b)
	*m = b
}

// queryDraw is what gofuzz fills to make a valid QueryImage.
type queryDraw struct {
	VendorID        uint16
	ProductID       uint16
	SoftwareVersion uint32
	Protocols       []uint8
	HardwareVersion *uint16
	Location        *uint16
	CanConsent      *bool
	Metadata        metadata
}

// validQuery returns a QueryImage that satisfies every constraint. Half of them carry the profile's
// vendor, product and version, so that the provider has an image to offer.
func (g *genCtx) validQuery() ota.QueryImage {
	var d queryDraw
	g.gf.Fuzz(&d)
	q := ota.QueryImage{VendorID: d.VendorID, ProductID: d.ProductID, SoftwareVersion: d.SoftwareVersion,
		HardwareVersion: d.HardwareVersion, RequestorCanConsent: d.CanConsent, MetadataForProvider: d.Metadata}
	switch g.rng.IntN(8) {
	case 0, 1, 2, 3:
		q.VendorID, q.ProductID, q.SoftwareVersion = g.profile.VendorID, g.profile.ProductID, g.profile.SoftwareVersion
	case 4, 5:
		q.VendorID, q.ProductID, q.SoftwareVersion = g.profile.VendorID, g.profile.ProductID, uint32(g.rng.IntN(6))
	}
	q.ProtocolsSupported = []ota.DownloadProtocol{}
	for _, p := range d.Protocols {
		if len(q.ProtocolsSupported) == ota.MaxProtocolsSupported {
			break
		}
		q.ProtocolsSupported = append(q.ProtocolsSupported, ota.DownloadProtocol(p%4))
	}
	if g.rng.IntN(10) < 6 && !hasProtocol(q.ProtocolsSupported, ota.ProtocolBDXSynchronous) {
		if len(q.ProtocolsSupported) == ota.MaxProtocolsSupported {
			q.ProtocolsSupported[0] = ota.ProtocolBDXSynchronous
		} else {
			q.ProtocolsSupported = append([]ota.DownloadProtocol{ota.ProtocolBDXSynchronous}, q.ProtocolsSupported...)
		}
	}
	if d.Location != nil {
		loc := string([]byte{'A' + byte(*d.Location%26), 'A' + byte(*d.Location/26%26)})
		q.Location = &loc
	}
	return q
}

func hasProtocol(ps []ota.DownloadProtocol, p ota.DownloadProtocol) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// profileQuery is the profile's known-good query (as harness.T.Query builds it).
func profileQuery(p harness.Profile) ota.QueryImage {
	q := ota.QueryImage{VendorID: p.VendorID, ProductID: p.ProductID, SoftwareVersion: p.SoftwareVersion,
		ProtocolsSupported: []ota.DownloadProtocol{ota.ProtocolBDXSynchronous}, RequestorCanConsent: ota.Ptr(false)}
	if p.HardwareVersion != nil {
		q.HardwareVersion = p.HardwareVersion
	}
	if p.Location != "" {
		q.Location = ota.Ptr(p.Location)
	}
	return q
}

// token returns an UpdateToken a provider never issued: random of a valid length, or the requestor's
// node id as 8 big-endian octets, which a requestor that lost its token sends (ota-provider.md §4.4).
func (g *genCtx) token() []byte {
	if g.rng.IntN(5) == 0 && len(g.reqs) > 0 {
		return binary.BigEndian.AppendUint64(nil, g.reqs[0].NodeID)
	}
	return g.bytes(ota.MinTokenLen + g.rng.IntN(ota.MaxTokenLen-ota.MinTokenLen+1))
}

func (g *genCtx) version() uint32 {
	switch g.rng.IntN(4) {
	case 0:
		return g.rng.Uint32()
	case 1:
		return g.profile.SoftwareVersion
	}
	if g.profile.ExpectedVersion != 0 {
		return g.profile.ExpectedVersion
	}
	return g.profile.SoftwareVersion + 1
}

func (g *genCtx) validApply() ota.ApplyUpdateRequest {
	return ota.ApplyUpdateRequest{UpdateToken: g.token(), NewVersion: g.version()}
}

func (g *genCtx) validNotify() ota.NotifyUpdateApplied {
	return ota.NotifyUpdateApplied{UpdateToken: g.token(), SoftwareVersion: g.version()}
}

// base returns a valid request of a random command as an element tree.
func (g *genCtx) base() (*commandSpec, tlv.Element) {
	switch n := g.rng.IntN(20); {
	case n < 14:
		return &querySpec, tree(g.validQuery())
	case n < 17:
		return &applySpec, tree(g.validApply())
	default:
		return &notifySpec, tree(g.validNotify())
	}
}

// tree encodes a typed command and decodes it into an element tree. The generators only build
// commands that encode; should one not, it becomes an empty structure (and the tests that check
// that valid inputs are valid fail).
func tree(c ota.Command) tlv.Element {
	b, err := ota.Encode(c)
	if err != nil {
		return tlv.StructElem(tlv.Anonymous)
	}
	e, err := tlv.Decode(b)
	if err != nil {
		return tlv.StructElem(tlv.Anonymous)
	}
	return e
}

func (g *genCtx) role() int {
	if g.roles == 1 || g.rng.IntN(8) != 0 {
		return 0
	}
	return g.rng.IntN(g.roles)
}

func (g *genCtx) step(cmd ota.CommandID, fields []byte, note string) Step {
	return Step{Requestor: g.role(), Command: cmd, Fields: fields, TokenFrom: -1, Note: note}
}

func genValid(g *genCtx) []Step {
	c, e := g.base()
	return []Step{g.step(c.id, g.encode(&e), "valid "+c.id.String())}
}

// mutated applies one structural mutation to a valid request.
func (g *genCtx) mutated(m mutator) []Step {
	c, e := g.base()
	note := m(g, c, &e)
	return []Step{g.step(c.id, g.encode(&e), note)}
}

func genStack(g *genCtx) []Step {
	c, e := g.base()
	muts := []mutator{mutBoundary, mutType, mutTags, mutWidth}
	n := 2 + g.rng.IntN(2)
	note := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			note += "; "
		}
		note += muts[g.rng.IntN(len(muts))](g, c, &e)
	}
	b := g.encode(&e)
	if g.rng.IntN(5) == 0 {
		var more string
		b, more = g.mutateBytes(b, 1+g.rng.IntN(3))
		note += "; " + more
	}
	return []Step{g.step(c.id, b, note)}
}

func genTruncate(g *genCtx) []Step {
	c, e := g.base()
	b := g.encode(&e)
	n := g.rng.IntN(len(b))
	return []Step{g.step(c.id, b[:n:n], fmt.Sprintf("%s cut to %d of %d octets", c.id, n, len(b)))}
}

func genBytes(g *genCtx) []Step {
	c, e := g.base()
	b, note := g.mutateBytes(g.encode(&e), 1+g.rng.IntN(8))
	return []Step{g.step(c.id, b, c.id.String()+" "+note)}
}

// unsupportedCommands are command ids outside the AcceptedCommandList {0, 2, 4}.
var unsupportedCommands = []ota.CommandID{0x01, 0x03, 0x05, 0x06, 0x0F, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFFFFFF}

func genCommand(g *genCtx) []Step {
	cmd := unsupportedCommands[g.rng.IntN(len(unsupportedCommands))]
	if g.rng.IntN(4) == 0 {
		cmd = ota.CommandID(g.rng.Uint32())
		if cmd.Accepted() {
			cmd = 0x05
		}
	}
	var b []byte
	what := ""
	switch g.rng.IntN(5) {
	case 0, 1:
		e := tree(g.validQuery())
		b, what = g.encode(&e), "QueryImage fields"
	case 2:
		resp := ota.QueryImageResponse{Status: ota.StatusNotAvailable}
		e := tree(resp)
		b, what = g.encode(&e), "QueryImageResponse fields"
	case 3:
		b, what = []byte{0x15, 0x18}, "empty structure"
	default:
		b, what = g.bytes(g.rng.IntN(16)), "random octets"
	}
	return []Step{g.step(cmd, b, fmt.Sprintf("unsupported %s with %s", cmd, what))}
}

// ---- values

const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// text returns a valid UTF-8 string of exactly n octets; some hold a two-octet character, so
// that their length in characters is not their length in octets.
func (g *genCtx) text(n int) string {
	b := make([]byte, n)
	var bits uint64
	for i := range b {
		if i%8 == 0 {
			bits = g.rng.Uint64()
		}
		b[i] = letters[(bits&0xFF)%uint64(len(letters))]
		bits >>= 8
	}
	if n >= 2 && g.rng.IntN(6) == 0 {
		i := g.rng.IntN(n - 1)
		b[i], b[i+1] = 0xC3, 0xA9 // é
	}
	return string(b)
}

func (g *genCtx) bytes(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], g.rng.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

func (g *genCtx) boundaryLen(f *fieldSpec) int {
	var near []int
	if f.minLen > 0 {
		near = append(near, f.minLen-1, f.minLen, f.minLen+1)
	}
	if f.maxLen >= 0 {
		near = append(near, f.maxLen-1, f.maxLen, f.maxLen+1)
	}
	if len(near) > 0 && g.rng.IntN(2) == 0 {
		return max(0, near[g.rng.IntN(len(near))])
	}
	return boundaryLens[g.rng.IntN(len(boundaryLens))]
}

func (g *genCtx) boundaryUint(f *fieldSpec) uint64 {
	if f.max < math.MaxUint64 && g.rng.IntN(4) == 0 {
		return f.max + 1 // does not fit the field's type
	}
	vals := []uint64{0, 1, f.max - 1, f.max, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFFFFFF, 1 << 32, math.MaxUint64}
	if f.enumMax >= 0 {
		vals = append(vals, uint64(f.enumMax), uint64(f.enumMax+1), 0xFE, 0xFF)
	}
	return vals[g.rng.IntN(len(vals))]
}

// pickField picks a field, favouring those with constraints (lengths, counts, enums).
func (g *genCtx) pickField(c *commandSpec) *fieldSpec {
	if g.rng.IntN(2) == 0 {
		var cons []*fieldSpec
		for i := range c.fields {
			f := &c.fields[i]
			if f.maxLen >= 0 || f.minLen > 0 || f.enumMax >= 0 {
				cons = append(cons, f)
			}
		}
		if len(cons) > 0 {
			return cons[g.rng.IntN(len(cons))]
		}
	}
	return &c.fields[g.rng.IntN(len(c.fields))]
}

// ---- element trees

// setMember replaces the member with m's tag, or inserts m in context-tag order.
func setMember(e *tlv.Element, m tlv.Element) {
	for i := range e.Elems {
		if e.Elems[i].Tag.Same(m.Tag) {
			e.Elems[i] = m
			return
		}
	}
	for i := range e.Elems {
		if m.Tag.IsContext() && e.Elems[i].Tag.IsContext() && e.Elems[i].Tag.Number > m.Tag.Number {
			e.Elems = append(e.Elems[:i], append([]tlv.Element{m}, e.Elems[i:]...)...)
			return
		}
	}
	e.Elems = append(e.Elems, m)
}

func removeMember(e *tlv.Element, i int) {
	e.Elems = append(e.Elems[:i:i], e.Elems[i+1:]...)
}

// encode encodes a (possibly malformed) tree; a tree that cannot be written at all (which the
// mutators avoid) yields an empty structure.
func (g *genCtx) encode(e *tlv.Element) []byte {
	b, err := encodeLoose(e)
	if err != nil || len(b) > maxFields {
		return []byte{0x15, 0x18}
	}
	return b
}
