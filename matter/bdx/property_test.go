package bdx

import (
	"bytes"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// propertyParams fixes the seed so that a failure replays; gopter prints the shrunk counterexample.
func propertyParams() *gopter.TestParameters {
	p := gopter.DefaultTestParametersWithSeed(0x0BD7)
	p.MinSuccessfulTests = 100
	return p
}

func TestPropertyTheReceiverReassemblesExactlyTheFileFromTheStartOffset(t *testing.T) {
	props := gopter.NewProperties(propertyParams())
	props.Property("for any size, block size and offset the receiver gets file[offset:]", prop.ForAll(
		func(size int, proposal uint16, offsetSeed uint32) bool {
			file := image(size, uint64(size)*31+uint64(proposal))
			var offset uint64
			if size > 0 {
				offset = uint64(offsetSeed) % uint64(size)
			}
			r, _ := armed(t, file, Config{})
			out := transfer(t, r, peerA, nil, ReceiveOptions{MaxBlockSize: proposal, StartOffset: offset, Expected: file})
			return out.err == nil && out.serveErr == nil && len(out.res.Findings) == 0 &&
				bytes.Equal(out.got, file[offset:]) && out.res.Complete && r.Active() == 0
		},
		gen.IntRange(0, 9000), gen.UInt16Range(1, 2048), gen.UInt32(),
	))
	props.TestingRun(t)
}

func TestPropertyASkipLeavesExactlyTheSkippedHole(t *testing.T) {
	props := gopter.NewProperties(propertyParams())
	props.Property("a skip of s bytes at block k drops file[k·MBS : k·MBS+s] and nothing else", prop.ForAll(
		func(size int, proposal uint16, k uint8, skip uint16) bool {
			file := image(size, uint64(size)^uint64(skip))
			r, _ := armed(t, file, Config{})
			out := transfer(t, r, peerA, nil, ReceiveOptions{MaxBlockSize: proposal, SkipAtBlock: uint32(k % 8), SkipBytes: uint64(skip), Expected: file})
			if out.err != nil || out.serveErr != nil || len(out.res.Findings) != 0 {
				return false
			}
			mbs, kk := out.res.MaxBlockSize, int(k%8)
			if kk > size/mbs {
				// Blocks run from 0 to size/MBS (the BlockEOF): the transfer ended before block k.
				return bytes.Equal(out.got, file)
			}
			cut := kk * mbs
			want := append(bytes.Clone(file[:cut]), file[min(cut+int(skip), size):]...)
			return bytes.Equal(out.got, want)
		},
		gen.IntRange(0, 6000), gen.UInt16Range(1, 1024), gen.UInt8(), gen.UInt16Range(1, 4000),
	))
	props.TestingRun(t)
}
