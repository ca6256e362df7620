package fuzz

import (
	"bytes"
	"context"
	"slices"
	"unicode/utf8"

	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// Minimisation bounds: re-executions per finding, and of those how many may go unanswered (each
// costs a whole timeout).
const (
	minimiseBudget = 200
	minimiseHangs  = 8
)

type minimiser struct {
	best   []Step // shrinkProbe's result
	r      *runner
	ctx    context.Context
	reqs   []ota.Requestor
	sig    string
	budget int
	hangs  int
}

func (m *minimiser) exhausted() bool {
	return m.budget <= 0 || m.hangs >= minimiseHangs || m.ctx.Err() != nil
}

// keeps runs steps and reports whether they still give the signature.
func (m *minimiser) keeps(steps []Step) bool {
	if m.exhausted() {
		return false
	}
	m.budget--
	out := m.r.execute(m.ctx, steps, m.reqs, false)
	if out.hung {
		m.hangs++
	}
	m.r.reconnect(m.ctx, out.problems)
	if out.stuck {
		m.budget = 0
		return false
	}
	for _, p := range out.problems {
		if p.sig == m.sig {
			return true
		}
	}
	return false
}

// minimise shrinks steps while they keep giving sig: it drops steps, then shrinks the last step's
// fields (re-encoded from what the typed decoder reads, members removed through the element tree,
// strings shortened towards their boundary, widths made canonical), then removes byte chunks. It reports false, and returns the input
// unchanged, when the input does not give sig again.
func (r *runner) minimise(ctx context.Context, steps []Step, reqs []ota.Requestor, sig string) ([]Step, bool) {
	m := &minimiser{r: r, ctx: ctx, reqs: reqs, sig: sig, budget: minimiseBudget}
	if !m.keeps(steps) {
		return steps, false
	}
	for i := len(steps) - 2; i >= 0; i-- {
		if cand := dropStep(steps, i); m.keeps(cand) {
			steps = cand
		}
	}
	last := len(steps) - 1
	if len(steps[last].BDX) > 0 {
		shrinkProbe(steps, m)
		return m.best, true
	}
	try := func(fields []byte) bool {
		cand := slices.Clone(steps)
		cand[last].Fields = fields
		if m.keeps(cand) {
			steps = cand
			return true
		}
		return false
	}
	if typed, ok := retyped(steps[last].Command, steps[last].Fields); ok {
		try(typed)
	}
	shrinkTree(steps[last].Fields, specFor(steps[last].Command), try)
	shrinkBytes(steps[last].Fields, try, m.exhausted)
	return steps, true
}

// shrinkProbe shrinks a BDX probe that is the last step: messages dropped, then octets of the last
// message's payload removed.
func shrinkProbe(steps []Step, m *minimiser) {
	last := len(steps) - 1
	with := func(msgs []BDXMessage) []Step {
		cand := slices.Clone(steps)
		cand[last].BDX = msgs
		return cand
	}
	for k := len(steps[last].BDX) - 1; k >= 0 && len(steps[last].BDX) > 1; k-- {
		if cand := with(slices.Delete(slices.Clone(steps[last].BDX), k, k+1)); m.keeps(cand) {
			steps = cand
		}
	}
	n := len(steps[last].BDX) - 1
	shrinkBytes(steps[last].BDX[n].Payload, func(p []byte) bool {
		msgs := slices.Clone(steps[last].BDX)
		msgs[n].Payload = p
		if cand := with(msgs); m.keeps(cand) {
			steps = cand
			return true
		}
		return false
	}, m.exhausted)
	m.best = steps
}

// retyped decodes fields with the typed decoder and encodes what it read: a well-formed, canonical
// form of a damaged request, which the tree shrinkers can then work on.
func retyped(cmd ota.CommandID, fields []byte) ([]byte, bool) {
	var c ota.Command
	switch cmd {
	case ota.CmdQueryImage:
		c, _ = ota.DecodeQueryImage(fields)
	case ota.CmdApplyUpdateRequest:
		c, _ = ota.DecodeApplyUpdateRequest(fields)
	case ota.CmdNotifyUpdateApplied:
		c, _ = ota.DecodeNotifyUpdateApplied(fields)
	default:
		return nil, false
	}
	b, err := ota.Encode(c)
	if err != nil || bytes.Equal(b, fields) {
		return nil, false
	}
	return b, true
}

// dropStep returns steps without step i; token references to it are dropped, later ones renumbered.
func dropStep(steps []Step, i int) []Step {
	out := make([]Step, 0, len(steps)-1)
	for j, s := range steps {
		if j == i {
			continue
		}
		switch {
		case s.TokenFrom == i:
			s.TokenFrom = -1
		case s.TokenFrom > i:
			s.TokenFrom--
		}
		out = append(out, s)
	}
	return out
}

// shrinkTree shrinks fields that decode as a container, through the element tree.
func shrinkTree(fields []byte, spec *commandSpec, try func([]byte) bool) {
	e, err := tlv.Decode(fields)
	if err != nil || !e.Kind.IsContainer() {
		return
	}
	attempt := func(cand tlv.Element) bool {
		b, err := encodeLoose(&cand)
		if err != nil || !try(b) {
			return false
		}
		e = cand
		return true
	}
	// Members, then the entries of container members, until nothing more can go.
	for changed := true; changed; {
		changed = false
		for k := len(e.Elems) - 1; k >= 0; k-- {
			cand := e
			cand.Elems = slices.Delete(slices.Clone(e.Elems), k, k+1)
			changed = attempt(cand) || changed
		}
		for k := range e.Elems {
			for j := len(e.Elems[k].Elems) - 1; j >= 0 && k < len(e.Elems); j-- {
				cand := e
				cand.Elems = slices.Clone(e.Elems)
				cand.Elems[k].Elems = slices.Delete(slices.Clone(e.Elems[k].Elems), j, j+1)
				changed = attempt(cand) || changed
			}
		}
	}
	// Strings and octet strings, to the shortest length that still gives the finding.
	for k := range e.Elems {
		x := e.Elems[k]
		if x.Kind != tlv.KindUTF8 && x.Kind != tlv.KindBytes {
			continue
		}
		var f *fieldSpec
		if spec != nil && x.Tag.IsContext() {
			f = spec.field(x.Tag.Number)
		}
		for _, n := range shorterLengths(len(x.Bytes), f) {
			b := x.Bytes[:n]
			if x.Kind == tlv.KindUTF8 && utf8.Valid(x.Bytes) && !utf8.Valid(b) {
				continue
			}
			cand := e
			cand.Elems = slices.Clone(e.Elems)
			cand.Elems[k].Bytes = b
			if attempt(cand) {
				break
			}
		}
	}
	// Canonical widths and tag forms.
	c := e.Canonical()
	if a, err1 := encodeLoose(&c); err1 == nil {
		if b, err2 := encodeLoose(&e); err2 == nil && !bytes.Equal(a, b) {
			attempt(c)
		}
	}
}

// shorterLengths are the lengths below n to try, shortest first: the small ones, both sides of the
// field's limits, and halfway.
func shorterLengths(n int, f *fieldSpec) []int {
	cands := []int{0, 1, 2, 3, 7, 8, n / 2, n/2 + 1, n - 1}
	if f != nil {
		cands = append(cands, f.minLen-1, f.minLen)
		if f.maxLen >= 0 {
			cands = append(cands, f.maxLen, f.maxLen+1)
		}
	}
	var out []int
	for _, c := range cands {
		if c >= 0 && c < n && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// shrinkBytes removes chunks of octets, halving the chunk size down to one.
func shrinkBytes(b []byte, try func([]byte) bool, exhausted func() bool) {
	for chunk := len(b) / 2; chunk >= 1; chunk /= 2 {
		for off := 0; off+chunk <= len(b) && !exhausted(); {
			cand := append(b[:off:off], b[off+chunk:]...)
			if try(cand) {
				b = cand
			} else {
				off += chunk
			}
		}
	}
}
