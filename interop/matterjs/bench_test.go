package matterjs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartToReady measures spawn → READY → clean Stop of a peer with one image, and reports the
// node process's resident memory once it is ready. Run it with a small -benchtime (e.g. 3x): each
// iteration is a whole matter.js start.
func BenchmarkStartToReady(b *testing.B) {
	Require(b)
	b.ReportAllocs()
	var ready, stop time.Duration
	var rssKiB int64
	for b.Loop() {
		t0 := time.Now()
		p, err := Start(b.Context(), Options{Images: []string{imageV2}})
		if err != nil {
			b.Fatal(err)
		}
		ready += time.Since(t0)
		if kib, err := residentKiB(p.PID); err == nil {
			rssKiB = max(rssKiB, kib)
		}
		t1 := time.Now()
		if err := p.Stop(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t1)
	}
	b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ready-ms/op")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms/op")
	b.ReportMetric(float64(rssKiB)/1024, "max-rss-MiB")
}

// residentKiB reads VmRSS from /proc/<pid>/status (Linux only; an error elsewhere).
func residentKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
