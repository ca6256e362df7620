package fuzz

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
)

// guard wraps a target so that no call can crash or hang the fuzzer, whatever the provider does.
// harness.InProcess calls a Go provider directly: a panic there would end the fuzzer and a call
// that never returns would stop it. Here calls run on a worker goroutine under the caller's
// context; a panic becomes a *panicError, and a call still running when its context ends is
// abandoned: the caller gets the context's error at once, the worker is retired (it exits when the
// provider returns; its context is cancelled, nothing else can stop it) and a new one takes the next
// call. Past maxStuck abandoned calls every call fails with errStuck, and the run stops rather than
// pile up goroutines. release stops the idle worker.
type guard struct {
	t     harness.Target
	stuck atomic.Int32

	mu      sync.Mutex
	w       *worker
	stopped chan struct{}
}

// worker runs calls one at a time; its grown stack is kept from call to call.
type worker struct {
	calls   chan func()
	retired atomic.Bool
}

const maxStuck = 16

// errStuck: too many earlier calls never returned.
var errStuck = errors.New("the provider has calls that never returned")

// panicError is a panic inside the provider.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string {
	return fmt.Sprintf("the provider panicked: %v\n%s", e.value, e.stack)
}

func newGuard(t harness.Target) *guard {
	return &guard{t: t, stopped: make(chan struct{})}
}

func (g *guard) worker() *worker {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		w := &worker{calls: make(chan func())}
		g.w = w
		go func() {
			for {
				select {
				case f := <-w.calls:
					f()
					if w.retired.Load() {
						return
					}
				case <-g.stopped:
					return
				}
			}
		}()
	}
	return g.w
}

func (g *guard) retire(w *worker) {
	w.retired.Store(true)
	g.mu.Lock()
	if g.w == w {
		g.w = nil
	}
	g.mu.Unlock()
}

// release stops the idle worker; the target stays open (its owner closes it).
func (g *guard) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.stopped:
	default:
		close(g.stopped)
	}
}

// guarded runs f on the guard's worker; see guard.
func guarded[T any](ctx context.Context, g *guard, f func() (T, error)) (T, error) {
	var zero T
	if n := g.stuck.Load(); n >= maxStuck {
		return zero, fmt.Errorf("%w: %d calls abandoned after their timeout are still running", errStuck, n)
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	var state atomic.Int32 // 0 running, 1 returned, 2 abandoned
	run := func() {
		var r result
		func() {
			defer func() {
				if p := recover(); p != nil {
					r = result{err: &panicError{value: p, stack: trimStack(debug.Stack())}}
				}
			}()
			r.v, r.err = f()
		}()
		ch <- r
		if !state.CompareAndSwap(0, 1) {
			g.stuck.Add(-1)
		}
	}
	w := g.worker()
	select {
	case w.calls <- run:
	case <-g.stopped:
		return zero, errors.New("fuzz: the target guard was released")
	case <-ctx.Done():
		return zero, fmt.Errorf("no answer: %w", ctx.Err())
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		if state.CompareAndSwap(0, 2) {
			g.stuck.Add(1)
			g.retire(w)
			return zero, fmt.Errorf("no answer: %w", ctx.Err())
		}
		r := <-ch // it returned just now
		return r.v, r.err
	}
}

// trimStack keeps the frames below the recover: the provider's, not the guard's.
func trimStack(s []byte) string {
	lines := strings.Split(string(s), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") && i+2 < len(lines) {
			lines = lines[i+2:]
			break
		}
	}
	if len(lines) > 24 {
		lines = lines[:24]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func (g *guard) Identity(ctx context.Context) (harness.Identity, error) {
	return guarded(ctx, g, func() (harness.Identity, error) { return g.t.Identity(ctx) })
}

func (g *guard) Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) (ota.Response, error) {
	return guarded(ctx, g, func() (ota.Response, error) { return g.t.Invoke(ctx, r, endpoint, cluster, cmd, fields) })
}

func (g *guard) OpenBDX(ctx context.Context, r ota.Requestor) (harness.Exchange, error) {
	return guarded(ctx, g, func() (harness.Exchange, error) { return g.t.OpenBDX(ctx, r) })
}

func (g *guard) SetScenario(ctx context.Context, s scenario.Request) error {
	_, err := guarded(ctx, g, func() (struct{}, error) { return struct{}{}, g.t.SetScenario(ctx, s) })
	return err
}

func (g *guard) Close() error { return g.t.Close() }
