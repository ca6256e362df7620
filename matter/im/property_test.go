package im

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// propertyParams fixes the seed so that a failure replays; gopter prints the shrunk counterexample.
func propertyParams() *gopter.TestParameters {
	p := gopter.DefaultTestParametersWithSeed(0x1A7E)
	p.MinSuccessfulTests = 300
	p.MaxSize = 5 // up to 5 commands or responses per message
	return p
}

// cdSpec describes a CommandDataIB (or a CommandStatusIB) to generate; the fields come from Seed.
type cdSpec struct {
	Endpoint      uint16
	Cluster       uint32
	Command       uint32
	Seed          int64
	NoFields      bool
	HasRef        bool
	Ref           uint16
	IsStatus      bool
	Status        uint8
	HasClusterSts bool
	ClusterStatus uint8
}

func genSpec() gopter.Gen {
	return gen.Struct(reflect.TypeOf(cdSpec{}), map[string]gopter.Gen{
		"Endpoint": gen.UInt16(), "Cluster": gen.UInt32(), "Command": gen.UInt32(), "Seed": gen.Int64(),
		"NoFields": gen.Weighted([]gen.WeightedGen{{Weight: 1, Gen: gen.Const(true)}, {Weight: 5, Gen: gen.Const(false)}}),
		"HasRef":   gen.Bool(), "Ref": gen.UInt16(), "IsStatus": gen.Bool(), "Status": gen.UInt8(),
		"HasClusterSts": gen.Bool(), "ClusterStatus": gen.UInt8(),
	})
}

func (s cdSpec) path() CommandPath { return CommandPath{s.Endpoint, s.Cluster, s.Command} }

func (s cdSpec) commandData(t testing.TB) CommandData {
	cd := CommandData{Path: s.path()}
	if !s.NoFields {
		cd.Fields = randomFields(t, rand.New(rand.NewSource(s.Seed)), 5)
	}
	if s.HasRef {
		cd.Ref = ptr(s.Ref)
	}
	return cd
}

func (s cdSpec) responseIB(t testing.TB) InvokeResponseIB {
	if !s.IsStatus {
		cd := s.commandData(t)
		return InvokeResponseIB{Command: &cd}
	}
	cs := CommandStatus{Path: s.path(), Status: StatusIB{Status: Status(s.Status)}}
	if s.HasClusterSts {
		cs.Status.ClusterStatus = ptr(s.ClusterStatus)
	}
	if s.HasRef {
		cs.Ref = ptr(s.Ref)
	}
	return InvokeResponseIB{Status: &cs}
}

func TestPropertyAnyInvokeRequestSurvivesEncodeAndDecode(t *testing.T) {
	props := gopter.NewProperties(propertyParams())
	props.Property("decode(encode(m)) = m with the revision filled in, and encode(decode(b)) = b", prop.ForAll(
		func(specs []cdSpec, suppress, timed bool, rev uint8) bool {
			m := InvokeRequest{SuppressResponse: suppress, TimedRequest: timed, Requests: []CommandData{}, IMRevision: rev}
			for _, s := range specs {
				m.Requests = append(m.Requests, s.commandData(t))
			}
			b, err := m.Append(nil)
			if err != nil {
				t.Logf("encode: %v", err)
				return false
			}
			got, err := DecodeInvokeRequest(b)
			if err != nil {
				t.Logf("decode: %v", err)
				return false
			}
			want := m
			want.IMRevision = revision(rev)
			again, err := got.Append(nil)
			return err == nil && reflect.DeepEqual(want, got) && bytes.Equal(again, b)
		},
		gen.SliceOf(genSpec()), gen.Bool(), gen.Bool(), gen.UInt8(),
	))
	props.TestingRun(t)
}

func TestPropertyAnyInvokeResponseSurvivesEncodeAndDecode(t *testing.T) {
	props := gopter.NewProperties(propertyParams())
	props.Property("decode(encode(m)) = m with the revision filled in, and encode(decode(b)) = b", prop.ForAll(
		func(specs []cdSpec, suppress, chunked bool, rev uint8) bool {
			m := InvokeResponse{SuppressResponse: suppress, Responses: []InvokeResponseIB{}, MoreChunked: chunked, IMRevision: rev}
			for _, s := range specs {
				m.Responses = append(m.Responses, s.responseIB(t))
			}
			b, err := m.Append(nil)
			if err != nil {
				t.Logf("encode: %v", err)
				return false
			}
			got, err := DecodeInvokeResponse(b)
			if err != nil {
				t.Logf("decode: %v", err)
				return false
			}
			want := m
			want.IMRevision = revision(rev)
			again, err := got.Append(nil)
			return err == nil && reflect.DeepEqual(want, got) && bytes.Equal(again, b)
		},
		gen.SliceOf(genSpec()), gen.Bool(), gen.Bool(), gen.UInt8(),
	))
	props.TestingRun(t)
}

func TestPropertyTheSingleCommandHelpersAgreeWithEachOther(t *testing.T) {
	props := gopter.NewProperties(propertyParams())
	props.Property("EncodeInvoke → DecodeInvokeRequest, and a response → DecodeInvokeResult, give back path and fields", prop.ForAll(
		func(s cdSpec, timed bool, respCommand uint32) bool {
			fields := randomFields(t, rand.New(rand.NewSource(s.Seed)), 5)
			b, err := EncodeInvoke(s.path(), fields, timed)
			if err != nil {
				return false
			}
			m, err := DecodeInvokeRequest(b)
			if err != nil || len(m.Requests) != 1 || m.TimedRequest != timed || m.Requests[0].Path != s.path() ||
				!bytes.Equal(m.Requests[0].Fields, fields) || m.Requests[0].Ref != nil || m.IMRevision != Revision {
				return false
			}
			rp := s.path()
			rp.Command = respCommand
			rb, err := EncodeInvokeResponseCommand(rp, fields)
			if err != nil {
				return false
			}
			r, err := DecodeInvokeResult(rb, OpInvokeResponse, s.path())
			if err != nil || !r.HasCommand || r.Command != respCommand || !bytes.Equal(r.Fields, fields) || r.Status != Success {
				return false
			}
			sr, err := DecodeInvokeResult(EncodeInvokeResponseStatus(s.path(), Status(s.Status)), OpInvokeResponse, s.path())
			if err != nil || sr.HasCommand || sr.Status != Status(s.Status) || sr.ClusterStatus != nil {
				return false
			}
			st, err := DecodeInvokeResult(EncodeStatusResponse(Status(s.Status)), OpStatusResponse, s.path())
			return err == nil && reflect.DeepEqual(st, Result{Status: Status(s.Status)})
		},
		genSpec(), gen.Bool(), gen.UInt32(),
	))
	props.TestingRun(t)
}

func TestPropertyStatusResponseAndTimedRequestSurviveEncodeAndDecode(t *testing.T) {
	props := gopter.NewProperties(propertyParams())
	props.Property("every status, timeout and revision comes back", prop.ForAll(
		func(s uint8, timeout uint16, rev uint8) bool {
			b, err := StatusResponse{Status: Status(s), IMRevision: rev}.Append(nil)
			if err != nil {
				return false
			}
			sr, err := DecodeStatusResponse(b)
			if err != nil || sr != (StatusResponse{Status(s), revision(rev)}) {
				return false
			}
			b, err = TimedRequest{TimeoutMs: timeout, IMRevision: rev}.Append(nil)
			if err != nil {
				return false
			}
			tr, err := DecodeTimedRequest(b)
			return err == nil && tr == TimedRequest{timeout, revision(rev)}
		},
		gen.UInt8(), gen.UInt16(), gen.UInt8(),
	))
	props.TestingRun(t)
}
