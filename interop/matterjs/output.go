package matterjs

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// tailBuffer keeps the last max bytes written to it, so a start failure can quote what the peer said
// last without keeping a long-running peer's whole log in memory. Safe for concurrent use.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	tee  io.Writer // optional; gets every byte, errors ignored (logs must not kill the peer's pipe)
	lost bool      // bytes were dropped from the front
}

func newTailBuffer(max int, tee io.Writer) *tailBuffer {
	return &tailBuffer{max: max, tee: tee}
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tee != nil {
		_, _ = t.tee.Write(p)
	}
	// Keep up to 2*max bytes and compact back to max only when that overflows, so a steady stream of
	// log lines costs an amortized copy of each byte once rather than a shift of the buffer per write.
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.lost = true
	}
	return len(p), nil
}

// Tail returns at most the last n complete-or-partial lines, trimmed, joined with " | " so that the
// result fits in a one-line error message. A line cut by the byte limit is dropped.
func (t *tailBuffer) Tail(n int) string {
	t.mu.Lock()
	data := t.buf
	lost := t.lost
	if len(data) > t.max {
		data = data[len(data)-t.max:]
		lost = true
	}
	text := string(data)
	t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if lost && len(lines) > 1 {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}

// maxLine bounds one stdout line. READY with a few images is well under 4 KiB; a longer line is not
// ours and is passed on without being buffered whole.
const maxLine = 64 << 10

// lineWriter splits a stream into lines and hands each complete one to onLine. It is the stdout sink of
// the peer process: os/exec copies into it from a single goroutine, so it needs no lock.
type lineWriter struct {
	pending  []byte
	overflow bool // the current line exceeded maxLine; drop until its newline
	onLine   func(line []byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !w.overflow {
				w.pending = append(w.pending, p...)
				if len(w.pending) > maxLine {
					w.onLine(w.pending[:maxLine])
					w.pending = w.pending[:0]
					w.overflow = true
				}
			}
			break
		}
		if !w.overflow {
			w.pending = append(w.pending, p[:i]...)
			w.onLine(w.pending)
		}
		w.pending = w.pending[:0]
		w.overflow = false
		p = p[i+1:]
	}
	return n, nil
}
