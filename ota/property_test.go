package ota

import (
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/tlv"
)

// genBoundaryLen generates lengths around the bounds of the constraint table.
func genBoundaryLen() gopter.Gen {
	return gen.OneConstOf(0, 1, 2, 3, 7, 8, 9, 31, 32, 33, 63, 64, 65, 255, 256, 257, 511, 512, 513)
}

func TestConstraintTableProperties(t *testing.T) {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 300
	props := gopter.NewProperties(params)

	props.Property("Location is valid exactly when it has 2 characters", prop.ForAll(func(n int) bool {
		v := ExpectedStatus(CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.UTF8(tlv.Context(5), string(make([]byte, n))) }))
		return (n == LocationLen) == (v == nil) && (v == nil || v.Status == im.ConstraintError)
	}, genBoundaryLen()))

	props.Property("MetadataForProvider is valid up to 512 octets", prop.ForAll(func(n int) bool {
		v := ExpectedStatus(CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.OctetString(tlv.Context(7), make([]byte, n)) }))
		return (n <= MaxMetadataLen) == (v == nil) && (v == nil || v.Status == im.ConstraintError)
	}, genBoundaryLen()))

	props.Property("ProtocolsSupported holds at most 8 defined entries", prop.ForAll(func(n int, val uint8) bool {
		v := ExpectedStatus(CmdQueryImage, fields(func(w *tlv.Writer) {
			qiBase(w, 3)
			w.StartArray(tlv.Context(3))
			for i := 0; i < n; i++ {
				w.Uint(tlv.Anonymous, uint64(val))
			}
			w.End()
		}))
		valid := n <= MaxProtocolsSupported && (n == 0 || val <= uint8(ProtocolVendorSpecific))
		return valid == (v == nil) && (v == nil || v.Status == im.ConstraintError)
	}, gen.IntRange(0, 12), gen.UInt8()))

	props.Property("tokens are valid from 8 to 32 octets in both requests", prop.ForAll(func(n int, version uint32) bool {
		valid := n >= MinTokenLen && n <= MaxTokenLen
		a := ExpectedStatus(CmdApplyUpdateRequest, mustEnc(ApplyUpdateRequest{UpdateToken: make([]byte, n), NewVersion: version}))
		b := ExpectedStatus(CmdNotifyUpdateApplied, mustEnc(NotifyUpdateApplied{UpdateToken: make([]byte, n), SoftwareVersion: version}))
		return valid == (a == nil) && valid == (b == nil)
	}, genBoundaryLen(), gen.UInt32()))

	props.Property("16-bit ids accept every 16-bit value and nothing wider", prop.ForAll(func(vid uint64) bool {
		v := ExpectedStatus(CmdQueryImage, fields(func(w *tlv.Writer) { w.Uint(tlv.Context(0), vid); qiBase(w, 0) }))
		return (vid <= 0xFFFF) == (v == nil)
	}, gen.OneGenOf(gen.UInt64Range(0, 0x1FFFF), gen.UInt64())))

	props.Property("SoftwareVersionString in a response is valid from 1 to 64 characters", prop.ForAll(func(n int) bool {
		r := goodResponse()
		r.SoftwareVersionString = Ptr(string(make([]byte, n)))
		_, fs := CheckQueryImageResponse(mustEnc(r), QueryContext{Request: validQuery()})
		return (n >= 1 && n <= 64) == (len(fs) == 0)
	}, genBoundaryLen()))

	props.TestingRun(t)
}
