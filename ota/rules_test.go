package ota

import (
	"testing"

	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/require"
)

func TestMakeBDXURIUsesSixteenUppercaseHexDigits(t *testing.T) {
	u, err := MakeBDXURI(0xCF4459353701AABD, "ota/fff1.8000.local.2")
	require.NoError(t, err)
	require.Equal(t, "bdx://CF4459353701AABD/ota/fff1.8000.local.2", u)
	u, err = MakeBDXURI(1, "a")
	require.NoError(t, err)
	require.Equal(t, "bdx://0000000000000001/a", u)
	require.Len(t, u, MinBDXURILen)
	_, err = MakeBDXURI(1, "")
	require.Error(t, err)
	_, err = MakeBDXURI(1, "a b")
	require.ErrorContains(t, err, "not allowed")
}

func TestParseBDXURI(t *testing.T) {
	cases := []struct {
		uri   string
		rules []string
		node  uint64
		fd    string
	}{
		{"bdx://CF4459353701AABD/ota/fff1.8000.local.2", nil, 0xCF4459353701AABD, "ota/fff1.8000.local.2"},
		{"bdx://0123456789ABCDEF/a%20b", nil, 0x0123456789ABCDEF, "a%20b"},
		{"bdx://cf4459353701aabd/x", []string{"uri.bdx.node-id-uppercase"}, 0xCF4459353701AABD, "x"},
		{"BDX://CF4459353701AABD/x", []string{"uri.bdx.scheme"}, 0, ""},
		{"bdx:CF4459353701AABD/x", []string{"uri.bdx.scheme"}, 0, ""},
		{"bdx://CF44593537/xxxxxxxxxx", []string{"uri.bdx.node-id-digits"}, 0, "xxxxxxxxxx"},
		{"bdx://CF4459353701AABD:5540/x", []string{"uri.bdx.port", "uri.bdx.node-id-digits"}, 0, "x"},
		{"bdx://u@F4459353701AABD/x", []string{"uri.bdx.userinfo", "uri.bdx.node-id-digits"}, 0, ""},
		{"bdx://CF4459353701AABD", []string{"uri.bdx.length", "uri.bdx.path"}, 0xCF4459353701AABD, ""},
		{"bdx://CF4459353701AABD/", []string{"uri.bdx.length", "uri.bdx.designator"}, 0xCF4459353701AABD, ""},
		{"bdx://CF4459353701AABD/f?v=2", []string{"uri.bdx.query-fragment", "uri.bdx.designator-chars"}, 0xCF4459353701AABD, "f?v=2"},
		{"bdx://CF4459353701AABD/a b", []string{"uri.bdx.designator-chars"}, 0xCF4459353701AABD, "a b"},
		{"bdx://CF4459353701AABD/a%2", []string{"uri.bdx.designator-chars"}, 0xCF4459353701AABD, "a%2"},
		{"bdx://CF4459353701AABG/x", []string{"uri.bdx.node-id-digits"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.uri, func(t *testing.T) {
			u, fs := ParseBDXURI(c.uri)
			var rules []string
			for _, f := range fs {
				rules = append(rules, f.Rule)
				require.Equal(t, LevelMust, f.Level)
			}
			require.Equal(t, c.rules, rules)
			if c.rules == nil || c.node != 0 {
				require.Equal(t, c.node, u.NodeID)
			}
			if c.fd != "" {
				require.Equal(t, c.fd, u.Designator)
			}
		})
	}
}

func goodResponse() QueryImageResponse {
	return QueryImageResponse{
		Status:                StatusUpdateAvailable,
		ImageURI:              Ptr("bdx://CF4459353701AABD/ota/fff1.8000.local.2"),
		SoftwareVersion:       Ptr[uint32](2),
		SoftwareVersionString: Ptr("2.0.0"),
		UpdateToken:           make([]byte, 32),
	}
}

func rulesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Level.String()+" "+f.Rule)
	}
	return out
}

func TestQueryImageResponseRules(t *testing.T) {
	ctx := QueryContext{Request: validQuery(), ProviderNodeID: 0xCF4459353701AABD}
	cases := []struct {
		name  string
		edit  func(r *QueryImageResponse, c *QueryContext)
		rules []string
	}{
		{"a complete UpdateAvailable passes", func(*QueryImageResponse, *QueryContext) {}, nil},
		{"a 7-byte token", func(r *QueryImageResponse, _ *QueryContext) { r.UpdateToken = make([]byte, 7) }, []string{"MUST response.constraint"}},
		{"a 33-byte token", func(r *QueryImageResponse, _ *QueryContext) { r.UpdateToken = make([]byte, 33) }, []string{"MUST response.constraint"}},
		{"no SoftwareVersionString", func(r *QueryImageResponse, _ *QueryContext) { r.SoftwareVersionString = nil }, []string{"MUST qir.update-available.fields"}},
		{"an empty SoftwareVersionString", func(r *QueryImageResponse, _ *QueryContext) { r.SoftwareVersionString = Ptr("") }, []string{"MUST response.constraint"}},
		{"a 65-character SoftwareVersionString", func(r *QueryImageResponse, _ *QueryContext) {
			r.SoftwareVersionString = Ptr(string(make([]byte, 65)))
		}, []string{"MUST response.constraint"}},
		{"the URI node id in lower case", func(r *QueryImageResponse, _ *QueryContext) {
			r.ImageURI = Ptr("bdx://cf4459353701aabd/ota/fff1.8000.local.2")
		}, []string{"MUST uri.bdx.node-id-uppercase"}},
		{"another node in the URI", func(r *QueryImageResponse, _ *QueryContext) {
			r.ImageURI = Ptr("bdx://0000000000000002/x")
		}, []string{"MUST uri.bdx.node-id-provider"}},
		{"a version that is not newer", func(r *QueryImageResponse, _ *QueryContext) { r.SoftwareVersion = Ptr[uint32](1) }, []string{"MUST qir.version.newer"}},
		{"a bdx URI to an HTTPS-only requestor", func(_ *QueryImageResponse, c *QueryContext) {
			c.Request.ProtocolsSupported = []DownloadProtocol{ProtocolHTTPS}
		}, []string{"MUST qir.uri.protocol-offered"}},
		{"a plain http URI", func(r *QueryImageResponse, _ *QueryContext) { r.ImageURI = Ptr("http://example.com/img.ota") }, []string{"MUST uri.scheme"}},
		{"an https URI to an HTTPS requestor", func(r *QueryImageResponse, c *QueryContext) {
			r.ImageURI = Ptr("https://example.com:8443/img.ota")
			c.Request.ProtocolsSupported = []DownloadProtocol{ProtocolBDXSynchronous, ProtocolHTTPS}
		}, nil},
		{"Busy without DelayedActionTime", func(r *QueryImageResponse, _ *QueryContext) { *r = QueryImageResponse{Status: StatusBusy} }, []string{"MUST qir.busy.delay"}},
		{"Busy with a zero delay", func(r *QueryImageResponse, _ *QueryContext) {
			*r = QueryImageResponse{Status: StatusBusy, DelayedActionTime: Ptr[uint32](0)}
		}, []string{"SHOULD qir.busy.delay-sane"}},
		{"Busy with 180 s", func(r *QueryImageResponse, _ *QueryContext) {
			*r = QueryImageResponse{Status: StatusBusy, DelayedActionTime: Ptr[uint32](180)}
		}, nil},
		{"NotAvailable carrying offer fields", func(r *QueryImageResponse, _ *QueryContext) { r.Status = StatusNotAvailable }, []string{"SHOULD qir.fields.only-with-update"}},
		{"NotAvailable with a delay", func(r *QueryImageResponse, _ *QueryContext) {
			*r = QueryImageResponse{Status: StatusNotAvailable, DelayedActionTime: Ptr[uint32](60)}
		}, []string{"INFO qir.delay.non-busy"}},
		{"an undefined status", func(r *QueryImageResponse, _ *QueryContext) { *r = QueryImageResponse{Status: 9} }, []string{"MUST qir.status.defined"}},
		{"consent asked of a requestor that cannot consent", func(r *QueryImageResponse, _ *QueryContext) { r.UserConsentNeeded = Ptr(true) }, []string{"SHOULD qir.consent.requestor-cannot"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, cx := goodResponse(), ctx
			c.edit(&r, &cx)
			_, fs := CheckQueryImageResponse(enc(t, r), cx)
			require.Equal(t, c.rules, rulesOf(fs))
			for _, f := range fs {
				require.NotEmpty(t, f.Section)
				require.NotEmpty(t, f.Message)
			}
		})
	}
}

func TestAResponseThatDoesNotDecodeIsJudgedOnlyOnItsEncoding(t *testing.T) {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	w.UTF8(tlv.Context(0), "UpdateAvailable")
	w.End()
	b, _ := w.Finish()
	_, fs := CheckQueryImageResponse(b, QueryContext{Request: validQuery()})
	require.Equal(t, []string{"MUST response.encoding"}, rulesOf(fs))
	require.Contains(t, fs[0].Message, "want an unsigned integer, found utf8/len1")
}

func TestNonCanonicalResponseEncodingIsAShouldFinding(t *testing.T) {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	w.UintWithWidth(tlv.Context(0), 2, 4)
	w.End()
	b, _ := w.Finish()
	_, fs := CheckQueryImageResponse(b, QueryContext{Request: validQuery()})
	require.Equal(t, []string{"SHOULD tlv.non-minimal-int"}, rulesOf(fs))
}

func TestApplyUpdateResponseRules(t *testing.T) {
	_, fs := CheckApplyUpdateResponse(enc(t, ApplyUpdateResponse{Action: ActionProceed}))
	require.Empty(t, fs)
	_, fs = CheckApplyUpdateResponse(enc(t, ApplyUpdateResponse{Action: 3}))
	require.Equal(t, []string{"MUST response.constraint"}, rulesOf(fs))
	_, fs = CheckApplyUpdateResponse(enc(t, ApplyUpdateResponse{Action: ActionAwaitNextAction, DelayedActionTime: 90000}))
	require.Equal(t, []string{"SHOULD aur.delay-sane"}, rulesOf(fs))
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(0), 0)
	w.End()
	b, _ := w.Finish()
	_, fs = CheckApplyUpdateResponse(b)
	require.Equal(t, []string{"MUST response.encoding"}, rulesOf(fs), "DelayedActionTime is mandatory")
}
