package bdx

import (
	"context"
	"time"
)

// watchdog bounds each of a sequence of waits by d with one context and one timer, instead of a
// context.WithTimeout (and its allocations) per message.
type watchdog struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	d      time.Duration
	cause  error // the cause set when a wait times out; wraps context.DeadlineExceeded
}

func newWatchdog(parent context.Context, d time.Duration, cause error) *watchdog {
	w := &watchdog{parent: parent, d: d, cause: cause}
	w.renew()
	return w
}

func (w *watchdog) renew() {
	if w.cancel != nil {
		w.cancel(nil)
	}
	w.ctx, w.cancel = context.WithCancelCause(w.parent)
	cancel, cause := w.cancel, w.cause
	w.timer = time.AfterFunc(w.d, func() { cancel(cause) })
}

// arm starts a wait and returns the context that ends with it.
func (w *watchdog) arm() context.Context {
	w.timer.Reset(w.d)
	return w.ctx
}

// disarm ends a wait. If the timer fired (or is firing) as the wait succeeded, a fresh context
// replaces the one it cancels, so that the next wait starts clean.
func (w *watchdog) disarm() {
	if !w.timer.Stop() {
		w.renew()
	}
}

// timedOut reports whether the last wait ended because the timer fired (not the parent).
func (w *watchdog) timedOut() bool {
	return w.parent.Err() == nil && context.Cause(w.ctx) == w.cause
}

// close releases the timer and the context.
func (w *watchdog) close() {
	w.timer.Stop()
	w.cancel(nil)
}
