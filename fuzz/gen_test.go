package fuzz

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/require"
)

// iterCtx returns iteration i's generator context, as input would set it up.
func iterCtx(seed int64, i int) *genCtx {
	gen := newGenerator(seed, harness.DefaultProfile, 3)
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
	gen.src.r = rng
	gen.gf.RandSource(&gen.src)
	return &genCtx{generator: gen, rng: rng, reqs: harness.FreshRequestors(i)}
}

func TestEveryGeneratorMakesReplayableInputs(t *testing.T) {
	gen := newGenerator(5, harness.DefaultProfile, 3)
	used := map[string]int{}
	for i := 0; i < 4000; i++ {
		steps := gen.input(i, harness.FreshRequestors(i))
		require.NoError(t, validateSteps(steps), "iteration %d", i)
		for _, s := range steps {
			name, _, ok := strings.Cut(s.Note, ":")
			require.True(t, ok, "the note names the generator: %q", s.Note)
			used[name]++
			require.LessOrEqual(t, len(s.Fields), maxFields)
		}
	}
	for _, g := range generators {
		require.Positive(t, used[g.name], "generator %s was never chosen", g.name)
	}
}

func TestValidInputsAreValidAndWidenedOnesStaySo(t *testing.T) {
	for i := 0; i < 1000; i++ {
		g := iterCtx(1, i)
		c, e := g.base()
		b := g.encode(&e)
		require.Nil(t, ota.ExpectedStatus(c.id, b), "iteration %d: %s", i, e)
		mutWidth(g, c, &e)
		wide := g.encode(&e)
		require.Nil(t, ota.ExpectedStatus(c.id, wide), "widened: %X", wide)
		again, err := tlv.Decode(wide)
		require.NoError(t, err)
		orig, _ := tlv.Decode(b)
		require.True(t, again.Equal(&orig), "widening changes no value")
	}
}

func TestTruncatedAndUnsupportedInputsHaveTheirStatus(t *testing.T) {
	for i := 0; i < 300; i++ {
		s := genTruncate(iterCtx(2, i))[0]
		v := ota.ExpectedStatus(s.Command, s.Fields)
		require.NotNil(t, v, "%X", s.Fields)
		require.Equal(t, im.InvalidCommand, v.Status)

		s = genCommand(iterCtx(2, i))[0]
		require.False(t, s.Command.Accepted())
		require.Equal(t, im.UnsupportedCommand, ota.ExpectedStatus(s.Command, s.Fields).Status)
	}
}

func TestBoundaryValuesCoverTheIssuesList(t *testing.T) {
	lengths := map[string]map[int]bool{"Location": {}, "MetadataForProvider": {}, "UpdateToken": {}}
	counts := map[int]bool{}
	for i := 0; i < 20000; i++ {
		g := iterCtx(3, i)
		c, e := g.base()
		mutBoundary(g, c, &e)
		for _, m := range e.Elems {
			f := c.field(m.Tag.Number)
			switch {
			case f == nil:
			case f.kind == kEnumList:
				counts[len(m.Elems)] = true
			case lengths[f.name] != nil && (m.Kind == tlv.KindUTF8 || m.Kind == tlv.KindBytes):
				lengths[f.name][len(m.Bytes)] = true
			}
		}
	}
	for name, seen := range lengths {
		for _, n := range boundaryLens {
			require.True(t, seen[n], "%s never %d octets long", name, n)
		}
	}
	for _, n := range []int{0, 1, 8, 9} {
		require.True(t, counts[n], "ProtocolsSupported never had %d entries", n)
	}
}

func TestSequencesTakeTokensFromEarlierQueries(t *testing.T) {
	withToken := 0
	for i := 0; i < 2000; i++ {
		steps := genSequence(iterCtx(4, i))
		require.NoError(t, validateSteps(steps))
		for _, s := range steps {
			if s.TokenFrom >= 0 {
				withToken++
				require.Equal(t, ota.CmdQueryImage, steps[s.TokenFrom].Command, "%+v", steps)
				require.Contains(t, []ota.CommandID{ota.CmdApplyUpdateRequest, ota.CmdNotifyUpdateApplied}, s.Command)
			}
		}
	}
	require.Greater(t, withToken, 1000)
}

func TestTokensAreSubstitutedIntoTemplates(t *testing.T) {
	tmpl := enc(t, ota.ApplyUpdateRequest{UpdateToken: make([]byte, 8), NewVersion: 9})
	tok := []byte("0123456789abcdef0123456789abcdef")
	a, v := ota.DecodeApplyUpdateRequest(substituteToken(tmpl, tok))
	require.Nil(t, v)
	require.Equal(t, tok, a.UpdateToken)
	require.Equal(t, uint32(9), a.NewVersion)
	require.Equal(t, []byte{1, 2, 3}, substituteToken([]byte{1, 2, 3}, tok), "a template that does not decode is sent as it is")
}

func TestTheLooseEncoderWritesWhatTheWriterRefuses(t *testing.T) {
	cases := []struct {
		name string
		e    tlv.Element
		want error
	}{
		{"invalid UTF-8", tlv.StructElem(tlv.Anonymous, tlv.Element{Tag: tlv.Context(5), Kind: tlv.KindUTF8, Bytes: []byte{'X', 0xFF}}), tlv.ErrInvalidUTF8},
		{"an anonymous member of a structure", tlv.StructElem(tlv.Anonymous, tlv.UintElem(tlv.Anonymous, 1)), tlv.ErrAnonymousInStruct},
		{"a tagged member of an array", tlv.ArrayElem(tlv.Anonymous, tlv.UintElem(tlv.Context(1), 1)), tlv.ErrTaggedInArray},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tlv.Encode(c.e)
			require.Error(t, err, "the writer refuses it")
			b, err := encodeLoose(&c.e)
			require.NoError(t, err)
			_, err = tlv.Decode(b)
			require.True(t, errors.Is(err, c.want), "got %v", err)
		})
	}
}

func TestShorterLengthsAreShortestFirstAndIncludeTheLimit(t *testing.T) {
	meta := querySpec.field(7)
	require.Equal(t, []int{0, 1, 2, 3, 7, 8, 300, 301, 512, 513, 599}, shorterLengths(600, meta))
	loc := querySpec.field(5)
	require.Equal(t, []int{0, 1, 2}, shorterLengths(3, loc))
	require.Empty(t, shorterLengths(0, nil))
}

func TestDroppingAStepRenumbersTokenSources(t *testing.T) {
	steps := []Step{{TokenFrom: -1}, {TokenFrom: -1}, {TokenFrom: 0}, {TokenFrom: 1}}
	got := dropStep(steps, 0)
	require.Equal(t, []int{-1, -1, 0}, []int{got[0].TokenFrom, got[1].TokenFrom, got[2].TokenFrom})
	got = dropStep(steps, 1)
	require.Equal(t, []int{-1, 0, -1}, []int{got[0].TokenFrom, got[1].TokenFrom, got[2].TokenFrom})
	require.NoError(t, validateSteps(got))
}

func TestOversizeInputsStayWithinTheAdaptersLimit(t *testing.T) {
	kinds := map[string]bool{}
	for i := 0; i < 400; i++ {
		s := genOversize(iterCtx(6, i))[0]
		require.LessOrEqual(t, len(s.Fields), maxFields)
		v := ota.ExpectedStatus(s.Command, s.Fields)
		// Many unknown members, or nesting within the reader's limit under an unknown tag, are
		// valid requests; everything else is refused.
		if !strings.Contains(s.Note, "unknown") {
			require.NotNil(t, v, "oversize input judged valid: %s", s.Note)
		}
		kinds[strings.Fields(s.Note)[0]] = true
	}
	require.GreaterOrEqual(t, len(kinds), 5, "%v", kinds)
}
