// Package matterjs runs the pinned matter.js 0.17.9 OTA Provider peer (provider.mjs, a Node.js process
// on loopback) for otaconf's interop tests, and drives matter.js's OTA image writer and reader.
// It is test plumbing, not a Matter implementation: nothing here speaks Matter on the wire.
package matterjs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// MatterJSVersion is the matter.js release package.json pins and the peer must report.
const MatterJSVersion = "0.17.9"

// Defaults that Start fills in for zero Options fields. The passcode and discriminator are the Matter
// SDK's test values (spec/matterjs-peer.md §2); 0xFFF1/0x8000 are a test vendor and product.
const (
	DefaultPasscode      uint32 = 20202021
	DefaultDiscriminator uint16 = 3840
	DefaultVendorID      uint16 = 0xFFF1
	DefaultProductID     uint16 = 0x8000

	// DefaultStartTimeout bounds spawn→READY. A start takes about 3 s on an idle 2-core machine, but
	// 18 s was measured while other test binaries kept both cores busy; the rest is headroom.
	DefaultStartTimeout = 90 * time.Second
	// DefaultMaxLifetime is how long a peer lives if nobody stops it: a backstop behind Stop and the
	// stdin watch, so a leaked peer cannot outlive a CI run.
	DefaultMaxLifetime = 30 * time.Minute
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL. A clean close takes ~50 ms.
	stopGrace = 5 * time.Second
	// ioGrace bounds how long Wait keeps copying the peer's output after it exited (os/exec WaitDelay).
	ioGrace = 2 * time.Second
	// stderrTailBytes is how much of the peer's stderr is kept for error messages.
	stderrTailBytes = 8 << 10
	// stderrTailLines is how many lines of it an error quotes.
	stderrTailLines = 12
)

// Exit codes of the scripts (cli.mjs).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitMaxLifetime = 3
)

// Mode selects the provider implementation inside the peer.
type Mode string

const (
	// ModeLocal overrides only checkUpdateAvailable: any requestor gets UpdateAvailable for the newest
	// applicable stored image of its VendorID/ProductID, with consent recorded so Apply says Proceed.
	ModeLocal Mode = "local"
	// ModeStock is matter.js unchanged: a requestor the peer did not commission itself always gets
	// NotAvailable, and ApplyUpdateRequest Discontinue (spec/matterjs-peer.md §2).
	ModeStock Mode = "stock"
)

var (
	loopbackV4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	loopbackV6 = netip.IPv6Loopback()
)

var (
	// ErrUnavailable is wrapped by Available's error: node or the installed packages are missing.
	ErrUnavailable = errors.New("matter.js peer unavailable")
	// ErrMaxLifetime is matched (errors.Is) by the ExitError of a peer that exited because its
	// MaxLifetime ran out.
	ErrMaxLifetime = errors.New("peer reached its maximum lifetime")
)

// Options configures Start. The zero value is a local-mode peer on a free port with the defaults above.
type Options struct {
	// Port is the UDP port for both 127.0.0.1 and ::1; 0 lets the peer pick a free one.
	Port uint16
	// Passcode defaults to DefaultPasscode.
	Passcode uint32
	// Discriminator (12 bits) defaults to DefaultDiscriminator.
	Discriminator uint16
	// VendorID and ProductID of the peer node itself (BasicInformation); 0 means the default.
	VendorID, ProductID uint16
	// Images are .ota files imported into the peer's OTA store before READY.
	Images []string
	// Mode defaults to ModeLocal.
	Mode Mode
	// StorageDir must be empty or absent; it is created if needed and left in place. Empty means a
	// fresh temporary directory that Stop removes.
	StorageDir string
	// Stderr, if set, receives the peer's log output (matter.js at warn level, plus one-line errors).
	// It is written from a single goroutine.
	Stderr io.Writer
	// LogLevel is matter.js's log level: debug, info, notice, warn (default) or error.
	LogLevel string
	// StartTimeout bounds spawn→READY on top of ctx; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// MaxLifetime makes the peer exit by itself (ExitError matching ErrMaxLifetime) after this long;
	// 0 means DefaultMaxLifetime. It is rounded up to whole seconds.
	MaxLifetime time.Duration
	// Logger receives this package's own events (spawn, READY, stop); nil means silent.
	Logger *slog.Logger
}

// ExitError reports a peer process that exited unsuccessfully, with the end of its stderr.
type ExitError struct {
	PID int
	// Code is the exit status, or -1 if the process was killed by a signal.
	Code int
	// Signal names the signal that killed it, if any.
	Signal string
	// Stage says when: "before READY" or "after READY".
	Stage string
	// StderrTail is the last lines of its stderr, joined with " | ".
	StderrTail string
}

func (e *ExitError) Error() string {
	how := "exited with status " + strconv.Itoa(e.Code)
	if e.Signal != "" {
		how = "was killed by " + e.Signal
	}
	switch e.Code {
	case exitUsage:
		how += " (usage error)"
	case exitMaxLifetime:
		how += " (maximum lifetime reached)"
	}
	msg := fmt.Sprintf("matter.js peer (pid %d) %s %s", e.PID, how, e.Stage)
	if e.StderrTail != "" {
		msg += "; stderr: " + e.StderrTail
	}
	return msg
}

// Is makes errors.Is(err, ErrMaxLifetime) true for a peer that exited because of MaxLifetime.
func (e *ExitError) Is(target error) bool {
	return target == ErrMaxLifetime && e.Code == exitMaxLifetime && e.Signal == ""
}

// Peer is a running provider.mjs process. Its fields are fixed once Start returns.
type Peer struct {
	// IPv4 and IPv6 are the operational addresses, 127.0.0.1:Port and [::1]:Port.
	IPv4, IPv6 netip.AddrPort
	Port       uint16
	// Endpoint is the endpoint number of the OTA Provider cluster (0x0029); 1 with matter.js.
	Endpoint          uint16
	Passcode          uint32
	Discriminator     uint16
	VendorID          uint16
	ProductID         uint16
	ManualPairingCode string
	QRPairingCode     string
	Mode              Mode
	// Images are the stored images in import order, with their BDX file designators.
	Images []StoredImage
	// StorageDir is the peer's storage directory.
	StorageDir string
	// PID is the node process id; it leads its own process group.
	PID int

	cmd         *exec.Cmd
	stdin       io.WriteCloser
	stderr      *tailBuffer
	logger      *slog.Logger
	ownsStorage bool
	ready       chan struct{} // closed once READY was seen; decides ExitError.Stage
	done        chan struct{} // closed when the process has exited and been reaped
	exitErr     error         // valid after done
	stopOnce    sync.Once
	stopErr     error
}

// Start spawns `node provider.mjs` in its own process group and waits until it prints READY, the
// process exits, ctx ends or StartTimeout passes. ctx bounds only the start: the peer then runs until
// Stop, until it loses its stdin (this process died) or until MaxLifetime. On any failure the process
// is stopped and the error carries the tail of its stderr.
func Start(ctx context.Context, opts Options) (*Peer, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("matterjs: not starting the peer: %w", err)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := packageDir()
	if err != nil {
		return nil, err
	}

	p := &Peer{
		logger: opts.Logger,
		stderr: newTailBuffer(stderrTailBytes, opts.Stderr),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	storage := opts.StorageDir
	if storage == "" {
		// Made here so that Stop can remove it even after a SIGKILL; provider.mjs also removes it
		// (--x-remove-storage) when it exits on its own, e.g. because this process died.
		storage, err = os.MkdirTemp("", "otaconf-matterjs-")
		if err != nil {
			return nil, fmt.Errorf("matterjs: creating the peer's storage dir: %w", err)
		}
		p.ownsStorage = true
	}
	p.StorageDir = storage

	readyLines := make(chan readyResult, 1)
	stdout := &lineWriter{onLine: func(line []byte) {
		if len(line) >= len(readyPrefix) && string(line[:len(readyPrefix)]) == readyPrefix {
			rec, err := parseReady(line)
			select {
			case readyLines <- readyResult{rec, err}:
			default: // a second READY line: provider.mjs prints exactly one; ignore
			}
			return
		}
		// Nothing else belongs on stdout; keep it visible with the logs.
		_, _ = fmt.Fprintf(p.stderr, "stdout: %s\n", line)
	}}

	cmd := exec.Command(nodeBinary(), append([]string{"provider.mjs"}, opts.args(storage, p.ownsStorage)...)...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = p.stderr
	cmd.WaitDelay = ioGrace
	cmd.Env = peerEnv()
	setProcessGroup(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		p.removeStorage()
		return nil, fmt.Errorf("matterjs: stdin pipe: %w", err)
	}
	p.stdin = stdin
	p.cmd = cmd

	if err := cmd.Start(); err != nil {
		p.removeStorage()
		return nil, fmt.Errorf("matterjs: spawning %s provider.mjs in %s: %w", cmd.Path, dir, err)
	}
	p.PID = cmd.Process.Pid
	p.logger.Debug("matter.js peer spawned", "pid", p.PID, "args", cmd.Args[1:])
	go p.reap()

	timeout := time.NewTimer(opts.StartTimeout)
	defer timeout.Stop()
	spawned := time.Now()
	select {
	case res := <-readyLines:
		if res.err != nil {
			_ = p.Stop()
			return nil, fmt.Errorf("matterjs: peer pid %d: %w (stderr: %s)", p.PID, res.err, p.stderr.Tail(stderrTailLines))
		}
		if res.rec.PID != p.PID {
			_ = p.Stop()
			return nil, fmt.Errorf("matterjs: READY names pid %d but the spawned process is %d", res.rec.PID, p.PID)
		}
		p.adopt(res.rec)
		close(p.ready)
		p.logger.Info("matter.js peer ready", "pid", p.PID, "port", p.Port, "endpoint", p.Endpoint,
			"images", len(p.Images), "after", time.Since(spawned))
		return p, nil
	case <-p.done:
		err := p.Stop() // the exit status; also sweeps the process group and removes the storage
		if err == nil {
			// Exit 0 without READY: e.g. its stdin hit EOF during start-up.
			err = &ExitError{PID: p.PID, Code: 0, Stage: "before READY", StderrTail: p.stderr.Tail(stderrTailLines)}
		}
		return nil, fmt.Errorf("matterjs: starting peer: %w", err)
	case <-ctx.Done():
		_ = p.Stop()
		return nil, fmt.Errorf("matterjs: waiting for READY from pid %d: %w (stderr: %s)", p.PID, ctx.Err(), p.stderr.Tail(stderrTailLines))
	case <-timeout.C:
		_ = p.Stop()
		return nil, fmt.Errorf("matterjs: no READY from pid %d within %v: %w (stderr: %s)", p.PID, opts.StartTimeout,
			context.DeadlineExceeded, p.stderr.Tail(stderrTailLines))
	}
}

type readyResult struct {
	rec readyRecord
	err error
}

// reap waits for the process and records how it ended. It is the only caller of cmd.Wait.
func (p *Peer) reap() {
	err := p.cmd.Wait()
	stage := "before READY"
	select {
	case <-p.ready:
		stage = "after READY"
	default:
	}
	var xe *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &xe):
		// Wait only returns an ExitError for a non-zero status or a signal.
		p.exitErr = &ExitError{
			PID: p.PID, Code: xe.ExitCode(), Signal: exitSignal(xe.ProcessState), Stage: stage,
			StderrTail: p.stderr.Tail(stderrTailLines),
		}
	case errors.Is(err, exec.ErrWaitDelay):
		// Exit status 0, but something (a grandchild) held stdout/stderr open past ioGrace; Stop's
		// group-wide SIGKILL deals with it. The peer itself ended cleanly.
		p.logger.Warn("matter.js peer output still open after exit", "pid", p.PID)
	default:
		p.exitErr = fmt.Errorf("matterjs: waiting for peer pid %d: %w", p.PID, err)
	}
	p.logger.Debug("matter.js peer exited", "pid", p.PID, "err", p.exitErr)
	close(p.done)
}

func (p *Peer) adopt(r readyRecord) {
	p.Port = r.Port
	p.IPv4 = netip.AddrPortFrom(loopbackV4, r.Port)
	p.IPv6 = netip.AddrPortFrom(loopbackV6, r.Port)
	p.Endpoint = r.Endpoint
	p.Passcode = r.Passcode
	p.Discriminator = r.Discriminator
	p.VendorID = r.VendorID
	p.ProductID = r.ProductID
	p.ManualPairingCode = r.ManualPairingCode
	p.QRPairingCode = r.QRPairingCode
	p.Mode = r.Mode
	p.Images = r.Images
}

// Done is closed when the peer process has exited, for whatever reason.
func (p *Peer) Done() <-chan struct{} { return p.done }

// ExitErr reports how the process ended, once Done is closed: nil for exit status 0 (a clean shutdown
// on SIGTERM or on stdin EOF), an *ExitError otherwise. Before Done it returns nil.
func (p *Peer) ExitErr() error {
	select {
	case <-p.done:
		return p.exitErr
	default:
		return nil
	}
}

// Stop shuts the peer down: SIGTERM to its process group, up to 5 s for a clean exit, then SIGKILL.
// It returns nil if the peer exited cleanly (now or before), the ExitError if it had failed, and an
// error saying so if it had to be killed. It removes a storage directory Start created. Calling it
// again returns the same result.
func (p *Peer) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Peer) stop() error {
	defer p.removeStorage()
	select {
	case <-p.done:
		signalGroup(p.PID, killSignal) // sweep anything left in the group; ESRCH is fine
		return p.exitErr
	default:
	}
	if err := signalGroup(p.PID, termSignal); err != nil {
		p.logger.Debug("SIGTERM to peer group failed", "pid", p.PID, "err", err)
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
		signalGroup(p.PID, killSignal)
		_ = p.stdin.Close()
		return p.exitErr
	case <-grace.C:
	}
	signalGroup(p.PID, killSignal)
	<-p.done // SIGKILL cannot be ignored; cmd.WaitDelay bounds the output copying after it
	_ = p.stdin.Close()
	return fmt.Errorf("matterjs: peer pid %d did not exit within %v of SIGTERM and was killed (stderr: %s)",
		p.PID, stopGrace, p.stderr.Tail(stderrTailLines))
}

func (p *Peer) removeStorage() {
	if p.ownsStorage && p.StorageDir != "" {
		if err := os.RemoveAll(p.StorageDir); err != nil {
			p.logger.Warn("removing peer storage", "dir", p.StorageDir, "err", err)
		}
	}
}

// closeStdin closes the peer's stdin, as the death of this process would. Tests use it.
func (p *Peer) closeStdin() error { return p.stdin.Close() }

func (o Options) withDefaults() (Options, error) {
	if o.Passcode == 0 {
		o.Passcode = DefaultPasscode
	}
	if o.Discriminator == 0 {
		o.Discriminator = DefaultDiscriminator
	}
	if o.VendorID == 0 {
		o.VendorID = DefaultVendorID
	}
	if o.ProductID == 0 {
		o.ProductID = DefaultProductID
	}
	if o.Mode == "" {
		o.Mode = ModeLocal
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = DefaultMaxLifetime
	}
	switch {
	case o.Mode != ModeLocal && o.Mode != ModeStock:
		return o, fmt.Errorf("matterjs: Options.Mode %q is neither %q nor %q", o.Mode, ModeLocal, ModeStock)
	case o.Passcode > 99999998 || invalidPasscodes[o.Passcode]:
		// Core §5.1.1.6: passcodes are 1..99999998; §5.1.7.1 forbids the trivial ones.
		return o, fmt.Errorf("matterjs: Options.Passcode %d is not a valid setup passcode (Core §5.1.1.6, §5.1.7.1)", o.Passcode)
	case o.Discriminator > 0xFFF:
		return o, fmt.Errorf("matterjs: Options.Discriminator %#x does not fit in 12 bits (Core §5.1.1.5)", o.Discriminator)
	case !validLogLevels[o.LogLevel]:
		return o, fmt.Errorf("matterjs: Options.LogLevel %q is not debug, info, notice, warn, error or fatal", o.LogLevel)
	}
	for i, img := range o.Images {
		if img == "" {
			return o, fmt.Errorf("matterjs: Options.Images[%d] is empty", i)
		}
	}
	return o, nil
}

var invalidPasscodes = map[uint32]bool{
	0: true, 11111111: true, 22222222: true, 33333333: true, 44444444: true, 55555555: true,
	66666666: true, 77777777: true, 88888888: true, 99999999: true, 12345678: true, 87654321: true,
}

var validLogLevels = map[string]bool{"debug": true, "info": true, "notice": true, "warn": true, "error": true, "fatal": true}

// args renders o (with defaults applied) as provider.mjs options. All are --x-NAME=VALUE: matter.js
// reads other --a-b=value arguments as its own config keys (spec/matterjs-peer.md §7).
func (o Options) args(storage string, removeStorage bool) []string {
	a := []string{
		"--x-port=" + strconv.Itoa(int(o.Port)),
		"--x-passcode=" + strconv.FormatUint(uint64(o.Passcode), 10),
		"--x-discriminator=" + strconv.Itoa(int(o.Discriminator)),
		"--x-vendor-id=" + strconv.Itoa(int(o.VendorID)),
		"--x-product-id=" + strconv.Itoa(int(o.ProductID)),
		"--x-storage=" + storage,
		"--x-mode=" + string(o.Mode),
		"--x-log-level=" + o.LogLevel,
		"--x-max-seconds=" + strconv.FormatInt(int64((o.MaxLifetime+time.Second-1)/time.Second), 10),
		"--x-watch-stdin=true",
		"--x-remove-storage=" + strconv.FormatBool(removeStorage),
	}
	for _, img := range o.Images {
		a = append(a, "--x-image="+absPath(img))
	}
	return a
}
