package fuzz

import (
	"context"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/ota"
)

// benchRun fuzzes target for b.N iterations and reports requests and inputs per second.
func benchRun(b *testing.B, target harness.Target) {
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	sum, err := Run(context.Background(), Config{Target: target, Seed: 1, Iterations: b.N})
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(sum.Findings) > 0 {
		b.Fatalf("findings against the reference: %s", sum.Findings[0].Signature)
	}
	b.ReportMetric(float64(sum.Executions)/elapsed.Seconds(), "execs/s")
	b.ReportMetric(float64(sum.Iterations)/elapsed.Seconds(), "inputs/s")
}

// BenchmarkFuzzEmbeddedReference is `otaconf fuzz` against the embedded reference.
func BenchmarkFuzzEmbeddedReference(b *testing.B) {
	benchRun(b, referenceTarget(b))
}

// BenchmarkFuzzExecReference is `otaconf fuzz` against the reference behind the exec adapter (the
// test binary as the child).
func BenchmarkFuzzExecReference(b *testing.B) {
	benchRun(b, execTarget(b, referenceNoBugs))
}

func BenchmarkGenerate(b *testing.B) {
	gen := newGenerator(1, harness.DefaultProfile, 3)
	reqs := harness.FreshRequestors(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		gen.input(i, reqs)
	}
}

func BenchmarkJudgeAnOffer(b *testing.B) {
	q := enc(b, profileQuery(harness.DefaultProfile))
	resp := cmdResp(b, ota.QueryImageResponse{Status: ota.StatusUpdateAvailable, ImageURI: ota.Ptr("bdx://00000000000B0D01/img.ota"),
		SoftwareVersion: ota.Ptr[uint32](2), SoftwareVersionString: ota.Ptr("2.0"), UpdateToken: make([]byte, 32)})
	a := answer{cmd: ota.CmdQueryImage, fields: q, provider: testProvider, resp: resp}
	b.ReportAllocs()
	for b.Loop() {
		if probs, _ := judge(a, true, time.Second); len(probs) > 0 {
			b.Fatal(probs[0].message)
		}
	}
}
