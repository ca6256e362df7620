package fuzz

import (
	"fmt"
	"strings"

	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// genSequence chains queries, ApplyUpdateRequest and NotifyUpdateApplied in normal and odd orders,
// with current, stale (superseded), foreign (another requestor's) and unknown tokens. A provider
// must answer every well-formed Apply with ApplyUpdateResponse and every Notify with SUCCESS,
// whatever the token (ota-provider.md §4.9, §4.10; bug #10).
func genSequence(g *genCtx) []Step {
	s := &seq{g: g}
	other, otherFabric := g.clampRole(1), g.clampRole(2)
	switch g.rng.IntN(9) {
	case 0:
		s.query(0).apply(0, 0).notify(0, 0)
		s.note = "query, apply, notify"
	case 1:
		s.query(0).query(0).apply(0, 0)
		s.note = "apply with the token of a superseded offer"
	case 2:
		r := []int{other, otherFabric}[g.rng.IntN(2)]
		s.query(0)
		if g.rng.IntN(2) == 0 {
			s.apply(r, 0)
		} else {
			s.notify(r, 0)
		}
		s.note = fmt.Sprintf("another requestor (role %d) sends the token", r)
	case 3:
		s.query(0).notify(0, 0).apply(0, 0)
		s.note = "notify before apply"
	case 4:
		s.query(0).apply(0, 0).apply(0, 0).notify(0, 0).notify(0, 0)
		s.note = "apply and notify twice"
	case 5:
		s.apply(0, -1).query(0).notify(0, -1)
		s.note = "unknown tokens around a query"
	case 6:
		s.query(0).notify(0, 0).query(0).apply(0, 0).apply(0, 2)
		s.note = "query again after notify; old and new tokens"
	case 7:
		s.query(0).query(other).apply(0, 1).apply(other, 0).notify(other, 1)
		s.note = "two requestors swap tokens"
	default:
		n := 2 + g.rng.IntN(5)
		var queries []int
		for i := 0; i < n; i++ {
			role := g.clampRole(g.rng.IntN(3))
			from := -1
			if len(queries) > 0 && g.rng.IntN(4) != 0 {
				from = queries[g.rng.IntN(len(queries))]
			}
			switch g.rng.IntN(3) {
			case 0:
				queries = append(queries, len(s.steps))
				s.query(role)
			case 1:
				s.apply(role, from)
			default:
				s.notify(role, from)
			}
			if g.rng.IntN(5) == 0 {
				s.damageLast()
			}
		}
		s.note = "random order"
	}
	for i := range s.steps {
		s.steps[i].Note = fmt.Sprintf("%s (step %d: %s)", s.note, i, s.steps[i].Note)
	}
	return s.steps
}

func (g *genCtx) clampRole(r int) int {
	if r >= g.roles {
		return 0
	}
	return r
}

type seq struct {
	g     *genCtx
	steps []Step
	note  string
}

func (s *seq) add(role int, cmd ota.CommandID, c ota.Command, from int, note string) *seq {
	e := tree(c)
	s.steps = append(s.steps, Step{Requestor: role, Command: cmd, Fields: s.g.encode(&e), TokenFrom: from, Note: note})
	return s
}

// query sends the profile's query (so that there is an offer), now and then another valid one.
func (s *seq) query(role int) *seq {
	q := profileQuery(s.g.profile)
	if s.g.rng.IntN(4) == 0 {
		q = s.g.validQuery()
	}
	return s.add(role, ota.CmdQueryImage, q, -1, fmt.Sprintf("QueryImage as role %d", role))
}

// apply sends ApplyUpdateRequest as role with the token of step from (-1: an unknown token).
func (s *seq) apply(role, from int) *seq {
	return s.add(role, ota.CmdApplyUpdateRequest, s.g.validApply(), from, fmt.Sprintf("ApplyUpdateRequest as role %d, %s", role, tokenNote(from)))
}

func (s *seq) notify(role, from int) *seq {
	return s.add(role, ota.CmdNotifyUpdateApplied, s.g.validNotify(), from, fmt.Sprintf("NotifyUpdateApplied as role %d, %s", role, tokenNote(from)))
}

func tokenNote(from int) string {
	if from < 0 {
		return "unknown token"
	}
	return fmt.Sprintf("token of step %d", from)
}

// damageLast applies a structural mutation to the last step.
func (s *seq) damageLast() {
	st := &s.steps[len(s.steps)-1]
	e, err := tlv.Decode(st.Fields)
	if err != nil {
		return
	}
	c := specFor(st.Command)
	m := []mutator{mutBoundary, mutTags, mutType}[s.g.rng.IntN(3)]
	note := m(s.g, c, &e)
	st.Fields = s.g.encode(&e)
	st.Note += ", " + strings.TrimSpace(note)
}

// substituteToken replaces the UpdateToken (context tag 0, an octet string) of a request template
// by token. A template without one is sent as it is.
func substituteToken(fields, token []byte) []byte {
	e, err := tlv.Decode(fields)
	if err != nil || e.Kind != tlv.KindStruct {
		return fields
	}
	m, ok := e.Member(tlv.Context(0))
	if !ok || m.Kind != tlv.KindBytes {
		return fields
	}
	m.Bytes, m.Width = token, 0
	b, err := encodeLoose(&e)
	if err != nil {
		return fields
	}
	return b
}
