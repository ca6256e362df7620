package fuzz

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

// scripted is a target whose Invoke does what its function says.
type scripted struct {
	invoke func(ctx context.Context) (ota.Response, error)
}

func (s *scripted) Identity(context.Context) (harness.Identity, error) {
	return harness.Identity{Name: "scripted"}, nil
}
func (s *scripted) Invoke(ctx context.Context, _ ota.Requestor, _ uint16, _ uint32, _ ota.CommandID, _ []byte) (ota.Response, error) {
	return s.invoke(ctx)
}
func (s *scripted) OpenBDX(context.Context, ota.Requestor) (harness.Exchange, error) {
	return nil, errors.New("no BDX")
}
func (s *scripted) SetScenario(context.Context, scenario.Request) error {
	return scenario.ErrUnsupported
}
func (s *scripted) Close() error { return nil }

func call(g *guard, timeout time.Duration) (ota.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return g.Invoke(ctx, ota.Requestor{}, 0, ota.ProviderClusterID, ota.CmdQueryImage, nil)
}

func TestTheGuardTurnsAPanicIntoAnError(t *testing.T) {
	g := newGuard(&scripted{invoke: func(context.Context) (ota.Response, error) { panic("out of range") }})
	defer g.release()
	_, err := call(g, time.Second)
	var pe *panicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "out of range", pe.value)
	require.Contains(t, err.Error(), "the provider panicked: out of range")
	// and the next call works on a worker that is still alive
	g.t = &scripted{invoke: func(context.Context) (ota.Response, error) { return ota.StatusOnly(im.Success), nil }}
	_, err = call(g, time.Second)
	require.NoError(t, err)
}

func TestTheGuardAbandonsCallsThatOutliveTheirTimeoutAndStopsAtItsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		g := newGuard(&scripted{invoke: func(context.Context) (ota.Response, error) {
			<-unblock // ignores its context
			return ota.StatusOnly(im.Success), nil
		}})
		defer g.release()
		for i := 1; i <= maxStuck; i++ {
			start := time.Now()
			_, err := call(g, time.Second)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Equal(t, time.Second, time.Since(start), "the caller waits the timeout, no longer")
			require.Equal(t, int32(i), g.stuck.Load())
		}
		_, err := call(g, time.Second)
		require.ErrorIs(t, err, errStuck)
		close(unblock)
		synctest.Wait()
		require.Zero(t, g.stuck.Load(), "the abandoned calls returned and their workers left")
		_, err = call(g, time.Second)
		require.NoError(t, err)
	})
}

func TestReleaseStopsTheGuardsWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGuard(&scripted{invoke: func(context.Context) (ota.Response, error) { return ota.StatusOnly(im.Success), nil }})
		_, err := call(g, time.Second)
		require.NoError(t, err)
		g.release()
		g.release() // twice is fine
		_, err = call(g, time.Second)
		require.Error(t, err)
		// synctest.Test fails if the worker goroutine were still running at the end.
	})
}
