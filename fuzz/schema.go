package fuzz

import (
	"github.com/otaconf/otaconf/ota"
)

// The request constraint table (ota-provider.md §2.1, §2.3, §2.5). The oracle itself is
// ota.ExpectedStatus; this table only tells the generators where the boundaries are.

type fieldKind uint8

const (
	kUint fieldKind = iota
	kBool
	kUTF8
	kBytes
	kEnumList // list[enum8], encoded as a TLV array
)

type fieldSpec struct {
	tag       uint8
	name      string
	kind      fieldKind
	mandatory bool
	max       uint64 // kUint: the type's largest value; kEnumList: the entries' (enum8)
	enumMax   int    // highest defined enum value, -1 when not an enum
	minLen    int    // strings, octet strings and lists
	maxLen    int    // -1: no limit
}

type commandSpec struct {
	id     ota.CommandID
	fields []fieldSpec
}

var (
	querySpec = commandSpec{ota.CmdQueryImage, []fieldSpec{
		{tag: 0, name: "VendorID", kind: kUint, mandatory: true, max: 0xFFFF, enumMax: -1, maxLen: -1},
		{tag: 1, name: "ProductID", kind: kUint, mandatory: true, max: 0xFFFF, enumMax: -1, maxLen: -1},
		{tag: 2, name: "SoftwareVersion", kind: kUint, mandatory: true, max: 0xFFFFFFFF, enumMax: -1, maxLen: -1},
		{tag: 3, name: "ProtocolsSupported", kind: kEnumList, mandatory: true, max: 0xFF, enumMax: int(ota.ProtocolVendorSpecific), maxLen: ota.MaxProtocolsSupported},
		{tag: 4, name: "HardwareVersion", kind: kUint, max: 0xFFFF, enumMax: -1, maxLen: -1},
		{tag: 5, name: "Location", kind: kUTF8, enumMax: -1, minLen: ota.LocationLen, maxLen: ota.LocationLen},
		{tag: 6, name: "RequestorCanConsent", kind: kBool, enumMax: -1, maxLen: -1},
		{tag: 7, name: "MetadataForProvider", kind: kBytes, enumMax: -1, maxLen: ota.MaxMetadataLen},
	}}
	applySpec = commandSpec{ota.CmdApplyUpdateRequest, []fieldSpec{
		{tag: 0, name: "UpdateToken", kind: kBytes, mandatory: true, enumMax: -1, minLen: ota.MinTokenLen, maxLen: ota.MaxTokenLen},
		{tag: 1, name: "NewVersion", kind: kUint, mandatory: true, max: 0xFFFFFFFF, enumMax: -1, maxLen: -1},
	}}
	notifySpec = commandSpec{ota.CmdNotifyUpdateApplied, []fieldSpec{
		{tag: 0, name: "UpdateToken", kind: kBytes, mandatory: true, enumMax: -1, minLen: ota.MinTokenLen, maxLen: ota.MaxTokenLen},
		{tag: 1, name: "SoftwareVersion", kind: kUint, mandatory: true, max: 0xFFFFFFFF, enumMax: -1, maxLen: -1},
	}}
)

// specFor returns the constraint table of a request, nil for commands a provider does not accept.
func specFor(cmd ota.CommandID) *commandSpec {
	switch cmd {
	case ota.CmdQueryImage:
		return &querySpec
	case ota.CmdApplyUpdateRequest:
		return &applySpec
	case ota.CmdNotifyUpdateApplied:
		return &notifySpec
	}
	return nil
}

// field returns the spec of the field with context tag n, or nil.
func (c *commandSpec) field(n uint32) *fieldSpec {
	for i := range c.fields {
		if uint32(c.fields[i].tag) == n {
			return &c.fields[i]
		}
	}
	return nil
}

// boundaryLens are the string, octet-string and list lengths every field is tried with (the issue's
// list): both sides of every constraint in the table and of the TLV length-field widths.
var boundaryLens = []int{0, 1, 2, 3, 7, 8, 32, 33, 64, 65, 256, 257, 512, 513}

// boundaryCounts are the list entry counts tried (max 8 entries for ProtocolsSupported).
var boundaryCounts = []int{0, 1, 2, 7, 8, 9, 16, 255}
