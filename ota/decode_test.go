package ota

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/require"
)

func validQuery() QueryImage {
	return QueryImage{
		VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 1,
		ProtocolsSupported:  []DownloadProtocol{ProtocolBDXSynchronous},
		HardwareVersion:     Ptr[uint16](0),
		Location:            Ptr("XX"),
		RequestorCanConsent: Ptr(false),
	}
}

func enc(t testing.TB, c Command) []byte {
	b, err := Encode(c)
	require.NoError(t, err)
	return b
}

// fields builds command fields with a raw writer, for requests a typed value cannot express.
func fields(put func(w *tlv.Writer)) []byte {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	put(w)
	w.End()
	b, err := w.Finish()
	if err != nil {
		panic(err)
	}
	return b
}

func qiBase(w *tlv.Writer, skip ...uint8) {
	has := func(n uint8) bool {
		for _, s := range skip {
			if s == n {
				return false
			}
		}
		return true
	}
	if has(0) {
		w.Uint(tlv.Context(0), 0xFFF1)
	}
	if has(1) {
		w.Uint(tlv.Context(1), 0x8000)
	}
	if has(2) {
		w.Uint(tlv.Context(2), 1)
	}
	if has(3) {
		w.StartArray(tlv.Context(3))
		w.Uint(tlv.Anonymous, 0)
		w.End()
	}
}

func TestQueryImageRoundTrips(t *testing.T) {
	q := validQuery()
	q.MetadataForProvider = []byte{}
	b := enc(t, q)
	got, v := DecodeQueryImage(b)
	require.Nil(t, v, v.Reason())
	require.Equal(t, q, got)
	require.Equal(t, "1525 00f1ff 250100 80 240201 3603 0400 18 240400 2c0502 5858 2806 3007 00 18",
		spacedHex(b, "1525 00f1ff 250100 80 240201 3603 0400 18 240400 2c0502 5858 2806 3007 00 18"))
}

// spacedHex formats b with the spacing of like, so that expected encodings stay readable.
func spacedHex(b []byte, like string) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for _, c := range like {
		if c == ' ' {
			sb.WriteByte(' ')
			continue
		}
		if len(h) == 0 {
			break
		}
		sb.WriteByte(h[0])
		h = h[1:]
	}
	return sb.String() + h
}

func TestRequestVerdicts(t *testing.T) {
	long := bytes.Repeat([]byte{1}, 513)
	cases := []struct {
		name   string
		cmd    CommandID
		fields []byte
		want   im.Status
		also   []im.Status
		field  string
	}{
		{"a valid QueryImage is processed", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w) }), im.Success, nil, ""},
		{"unknown context tags are skipped", CmdQueryImage, fields(func(w *tlv.Writer) {
			qiBase(w)
			w.UTF8(tlv.Context(9), "future")
			w.StartStruct(tlv.Context(200))
			w.Bool(tlv.Context(1), true)
			w.End()
		}), im.Success, nil, ""},
		{"profile tags are skipped", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.Uint(tlv.FullyQualified(0xFFF1, 1, 5), 1) }), im.Success, nil, ""},
		{"a missing VendorID", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w, 0) }), im.InvalidCommand, nil, "QueryImage.VendorID"},
		{"a missing ProtocolsSupported", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w, 3) }), im.InvalidCommand, nil, "QueryImage.ProtocolsSupported"},
		{"a VendorID sent as a string", CmdQueryImage, fields(func(w *tlv.Writer) { w.UTF8(tlv.Context(0), "fff1"); qiBase(w, 0) }), im.InvalidCommand, nil, "QueryImage.VendorID"},
		{"a SoftwareVersion sent as a signed integer", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w, 2); w.Int(tlv.Context(2), 1) }), im.InvalidCommand, nil, "QueryImage.SoftwareVersion"},
		{"ProtocolsSupported as a list, not an array", CmdQueryImage, fields(func(w *tlv.Writer) {
			qiBase(w, 3)
			w.StartList(tlv.Context(3))
			w.End()
		}), im.InvalidCommand, nil, "QueryImage.ProtocolsSupported"},
		{"a null Location", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.Null(tlv.Context(5)) }), im.InvalidCommand, nil, "QueryImage.Location"},
		{"a duplicated VendorID", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.Uint(tlv.Context(0), 1) }), im.InvalidCommand, []im.Status{im.Success}, "QueryImage.VendorID"},
		{"a duplicated VendorID and a missing ProductID", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w, 1); w.Uint(tlv.Context(0), 1) }), im.InvalidCommand, nil, "QueryImage.VendorID"},
		{"a 3-character Location", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.UTF8(tlv.Context(5), "USA") }), im.ConstraintError, []im.Status{im.InvalidCommand}, "QueryImage.Location"},
		{"an empty Location", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.UTF8(tlv.Context(5), "") }), im.ConstraintError, []im.Status{im.InvalidCommand}, "QueryImage.Location"},
		{"MetadataForProvider of 513 octets", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.OctetString(tlv.Context(7), long) }), im.ConstraintError, []im.Status{im.InvalidCommand}, "QueryImage.MetadataForProvider"},
		{"MetadataForProvider of 512 octets", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w); w.OctetString(tlv.Context(7), long[:512]) }), im.Success, nil, ""},
		{"nine ProtocolsSupported", CmdQueryImage, fields(func(w *tlv.Writer) {
			qiBase(w, 3)
			w.StartArray(tlv.Context(3))
			for i := 0; i < 9; i++ {
				w.Uint(tlv.Anonymous, 0)
			}
			w.End()
		}), im.ConstraintError, nil, "QueryImage.ProtocolsSupported"},
		{"an undefined protocol 7", CmdQueryImage, fields(func(w *tlv.Writer) {
			qiBase(w, 3)
			w.StartArray(tlv.Context(3))
			w.Uint(tlv.Anonymous, 7)
			w.End()
		}), im.ConstraintError, nil, "QueryImage.ProtocolsSupported"},
		{"a VendorID above 16 bits", CmdQueryImage, fields(func(w *tlv.Writer) { w.Uint(tlv.Context(0), 0x1FFFF); qiBase(w, 0) }), im.ConstraintError, []im.Status{im.InvalidCommand}, "QueryImage.VendorID"},
		{"both a missing field and a bad length", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w, 1); w.UTF8(tlv.Context(5), "USA") }), im.InvalidCommand, []im.Status{im.ConstraintError}, "QueryImage.ProductID"},
		{"fields that are not a structure", CmdQueryImage, []byte{0x04, 0x01}, im.InvalidCommand, nil, "QueryImage"},
		{"truncated fields", CmdQueryImage, fields(func(w *tlv.Writer) { qiBase(w) })[:6], im.InvalidCommand, nil, "QueryImage"},
		{"empty fields", CmdQueryImage, nil, im.InvalidCommand, nil, "QueryImage"},
		{"a 7-byte token in ApplyUpdateRequest", CmdApplyUpdateRequest, enc(t, ApplyUpdateRequest{UpdateToken: make([]byte, 7), NewVersion: 2}), im.ConstraintError, []im.Status{im.InvalidCommand}, "ApplyUpdateRequest.UpdateToken"},
		{"a 33-byte token in ApplyUpdateRequest", CmdApplyUpdateRequest, enc(t, ApplyUpdateRequest{UpdateToken: make([]byte, 33), NewVersion: 2}), im.ConstraintError, []im.Status{im.InvalidCommand}, "ApplyUpdateRequest.UpdateToken"},
		{"an 8-byte unknown token in ApplyUpdateRequest", CmdApplyUpdateRequest, enc(t, ApplyUpdateRequest{UpdateToken: make([]byte, 8), NewVersion: 2}), im.Success, nil, ""},
		{"an empty ApplyUpdateRequest", CmdApplyUpdateRequest, fields(func(*tlv.Writer) {}), im.InvalidCommand, nil, "ApplyUpdateRequest.UpdateToken"},
		{"a 33-byte token in NotifyUpdateApplied", CmdNotifyUpdateApplied, enc(t, NotifyUpdateApplied{UpdateToken: make([]byte, 33), SoftwareVersion: 2}), im.ConstraintError, []im.Status{im.InvalidCommand}, "NotifyUpdateApplied.UpdateToken"},
		{"a 32-byte token in NotifyUpdateApplied", CmdNotifyUpdateApplied, enc(t, NotifyUpdateApplied{UpdateToken: make([]byte, 32), SoftwareVersion: 2}), im.Success, nil, ""},
		{"the QueryImageResponse command id", CmdQueryImageResponse, nil, im.UnsupportedCommand, nil, "QueryImageResponse"},
		{"command id 5", CommandID(5), nil, im.UnsupportedCommand, nil, "Command(0x05)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := ExpectedStatus(c.cmd, c.fields)
			if c.want == im.Success {
				require.Nil(t, v, v.Reason())
				return
			}
			require.NotNil(t, v)
			require.Equal(t, c.want, v.Status, v.Reason())
			require.Equal(t, c.also, v.Also)
			require.Equal(t, c.field, v.Problems[0].Field, v.Reason())
			exact, ok := v.Allows(c.want)
			require.True(t, exact && ok)
			require.NotEmpty(t, v.Problems[0].Section)
		})
	}
}

func TestVerdictTextNamesFieldOffsetAndSection(t *testing.T) {
	_, v := DecodeQueryImage(fields(func(w *tlv.Writer) { qiBase(w); w.UTF8(tlv.Context(5), "USA") }))
	require.Equal(t, "CONSTRAINT_ERROR (0x87): QueryImage.Location: length 3, must be exactly 2 bytes of UTF-8 (byte 17) [§11.20.6.5.1, §8.10.1 CONSTRAINT_ERROR]", v.Error())
}
