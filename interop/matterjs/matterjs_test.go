package matterjs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Committed matter.js-written images (testdata/README.md).
const (
	imageV2       = "testdata/fff1-8000-v2.ota"
	imageV3SHA512 = "testdata/fff1-8000-v3-sha512.ota"
)

// probeUDP sends one junk datagram to addr on a connected socket and reports whether something is
// bound there: with no listener the kernel answers ICMP port unreachable and the read fails with
// ECONNREFUSED; with one, the junk is dropped (or answered) and the read times out (or returns data).
func probeUDP(t *testing.T, addr netip.AddrPort) bool {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	require.NoError(t, err)
	defer conn.Close()
	// Not a Matter message: a 1-byte datagram fails header decoding and matter.js drops it.
	_, err = conn.Write([]byte{0xFF})
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
	_, err = conn.Read(make([]byte, 1500))
	if err == nil {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "probe of %v failed in an unexpected way", addr)
	return false
}

// freeUDPPort finds a port free on both 127.0.0.1 and ::1 (the peer binds both).
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	for range 20 {
		c4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		port := c4.LocalAddr().(*net.UDPAddr).Port
		c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: port})
		c4.Close()
		if err == nil {
			c6.Close()
			return uint16(port)
		}
	}
	t.Fatal("no UDP port free on both loopback addresses after 20 tries")
	return 0
}

func TestPeerServesOnLoopbackAndStopsCleanly(t *testing.T) {
	Require(t)
	var logs bytes.Buffer
	p, err := Start(t.Context(), Options{Images: []string{imageV2, imageV3SHA512}, Stderr: &logs})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = p.Stop()
		}
	})

	t.Run("READY reports the bound port, endpoint, credentials and image designators", func(t *testing.T) {
		assert.NotZero(t, p.Port)
		assert.Equal(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), p.Port), p.IPv4)
		assert.Equal(t, netip.AddrPortFrom(netip.MustParseAddr("::1"), p.Port), p.IPv6)
		assert.Equal(t, uint16(1), p.Endpoint, "matter.js puts the first part on endpoint 1")
		assert.Equal(t, DefaultPasscode, p.Passcode)
		assert.Equal(t, DefaultDiscriminator, p.Discriminator)
		assert.Equal(t, DefaultVendorID, p.VendorID)
		assert.Equal(t, DefaultProductID, p.ProductID)
		assert.Equal(t, ModeLocal, p.Mode)
		assert.Regexp(t, `^[0-9]{11}$`, p.ManualPairingCode)
		assert.True(t, strings.HasPrefix(p.QRPairingCode, "MT:"), p.QRPairingCode)
		require.Len(t, p.Images, 2)
		assert.Equal(t, "ota/fff1.8000.local.2", p.Images[0].Designator)
		assert.Equal(t, uint32(2), p.Images[0].SoftwareVersion)
		assert.Equal(t, int64(4175), p.Images[0].Size)
		assert.Nil(t, p.Images[0].MinApplicable, "the v2 header has no MinApplicable")
		assert.Equal(t, "ota/fff1.8000.local.3", p.Images[1].Designator)
		assert.Equal(t, "3.0.0-rc1", p.Images[1].SoftwareVersionString)
		require.NotNil(t, p.Images[1].MaxApplicable)
		assert.Equal(t, uint32(2), *p.Images[1].MaxApplicable)
		assert.Positive(t, p.PID)
		assert.DirExists(t, p.StorageDir)
		assert.FileExists(t, filepath.Join(p.StorageDir, "ota", "bin.fff1.8000.local.2"))
		assert.Empty(t, strings.TrimSpace(logs.String()), "at warn level a healthy start logs nothing")
	})

	t.Run("the UDP port answers on both loopback addresses", func(t *testing.T) {
		assert.True(t, probeUDP(t, p.IPv4), "nothing bound at %v", p.IPv4)
		assert.True(t, probeUDP(t, p.IPv6), "nothing bound at %v", p.IPv6)
	})

	t.Run("every socket of the node process is on a loopback address", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("reads /proc")
		}
		socks, err := socketsOf(p.PID)
		require.NoError(t, err)
		require.NotEmpty(t, socks)
		var operational []netip.AddrPort
		for _, s := range socks {
			assert.True(t, s.Local.Addr().IsLoopback(), "%s socket bound to %v", s.Proto, s.Local)
			if s.Local.Port() == p.Port {
				operational = append(operational, s.Local)
			}
		}
		assert.ElementsMatch(t, []netip.AddrPort{p.IPv4, p.IPv6}, operational)
	})

	t.Run("Stop ends the process group cleanly and frees the port and storage", func(t *testing.T) {
		require.NoError(t, p.Stop())
		stopped = true
		select {
		case <-p.Done():
		default:
			t.Fatal("Done not closed after Stop returned")
		}
		assert.NoError(t, p.ExitErr())
		assert.False(t, groupAlive(p.PID), "process group %d still has members", p.PID)
		assert.NoDirExists(t, p.StorageDir)
		assert.False(t, probeUDP(t, p.IPv4), "something still answers at %v", p.IPv4)
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(p.IPv4))
		require.NoError(t, err, "port %d not released", p.Port)
		c.Close()
		assert.NoError(t, p.Stop(), "a second Stop returns the same result")
	})
}

func TestStartFailuresExplainThemselves(t *testing.T) {
	Require(t)
	garbage := filepath.Join(t.TempDir(), "garbage.ota")
	require.NoError(t, os.WriteFile(garbage, bytes.Repeat([]byte{0xAB}, 64), 0o644))
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "leftover"), nil, 0o644))

	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { busy.Close() }) // not defer: the parallel subtests run after this function returns
	busyPort := uint16(busy.LocalAddr().(*net.UDPAddr).Port)

	tests := []struct {
		name  string
		opts  Options
		wants []string
	}{
		{
			name:  "a missing image path is named with the OS error",
			opts:  Options{Images: []string{"/nonexistent/otaconf/missing.ota"}},
			wants: []string{"missing.ota", "ENOENT"},
		},
		{
			name:  "a file that is not an OTA image is named with matter.js's reason",
			opts:  Options{Images: []string{garbage}},
			wants: []string{"garbage.ota", "Invalid OTA file identifier"},
		},
		{
			name:  "a port that is already bound is reported as in use",
			opts:  Options{Port: busyPort},
			wants: []string{"already in use"},
		},
		{
			name:  "a storage directory with leftovers is refused",
			opts:  Options{StorageDir: full},
			wants: []string{"not empty"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Start(t.Context(), tc.opts)
			if p != nil {
				_ = p.Stop()
			}
			require.Error(t, err)
			var ee *ExitError
			require.ErrorAs(t, err, &ee)
			assert.NotZero(t, ee.Code)
			assert.Equal(t, "before READY", ee.Stage)
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
			assert.False(t, groupAlive(ee.PID), "process group %d survived a failed start", ee.PID)
		})
	}
}

func TestInvalidOptionsAreRejectedBeforeSpawning(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"an unknown mode", Options{Mode: "fancy"}, `Mode "fancy"`},
		{"a trivial passcode", Options{Passcode: 12345678}, "Passcode 12345678"},
		{"a passcode above the 27-bit range", Options{Passcode: 99999999 + 1}, "Passcode 100000000"},
		{"a 13-bit discriminator", Options{Discriminator: 0x1000}, "Discriminator 0x1000"},
		{"an unknown log level", Options{LogLevel: "chatty"}, `LogLevel "chatty"`},
		{"an empty image path", Options{Images: []string{""}}, "Images[0] is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opts.withDefaults()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("the zero value gets the documented defaults", func(t *testing.T) {
		o, err := Options{}.withDefaults()
		require.NoError(t, err)
		assert.Equal(t, Options{
			Passcode: DefaultPasscode, Discriminator: DefaultDiscriminator, VendorID: DefaultVendorID,
			ProductID: DefaultProductID, Mode: ModeLocal, LogLevel: "warn",
			StartTimeout: DefaultStartTimeout, MaxLifetime: DefaultMaxLifetime,
		}, o)
	})
	t.Run("every option is passed with the --x- prefix matter.js does not read", func(t *testing.T) {
		o, err := Options{Images: []string{"a.ota"}, MaxLifetime: 1500 * time.Millisecond}.withDefaults()
		require.NoError(t, err)
		args := o.args("/tmp/s", true)
		for _, a := range args {
			assert.True(t, strings.HasPrefix(a, "--x-"), a)
		}
		assert.Contains(t, args, "--x-max-seconds=2", "MaxLifetime rounds up to whole seconds")
		assert.Contains(t, args, "--x-vendor-id=65521")
		assert.Contains(t, args, "--x-remove-storage=true")
	})
}

func TestPeerExitsCleanlyWhenItsStdinCloses(t *testing.T) {
	Require(t)
	p, err := Start(t.Context(), Options{})
	require.NoError(t, err)
	defer p.Stop()

	require.NoError(t, p.closeStdin())
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("peer still running 20 s after its stdin closed")
	}
	assert.NoError(t, p.ExitErr(), "stdin EOF is a clean shutdown")
	assert.False(t, groupAlive(p.PID))
	assert.NoDirExists(t, p.StorageDir, "the peer removes the temp storage itself when its parent is gone")
	assert.NoError(t, p.Stop(), "Stop after the peer exited on its own reports its clean exit")
}

func TestPeerExitsByItselfAtMaxLifetime(t *testing.T) {
	Require(t)
	// One second is shorter than the ~2 s matter.js import, so the peer normally dies before READY;
	// on a machine fast enough to get READY out first it dies right after. Both must say why.
	p, err := Start(t.Context(), Options{MaxLifetime: time.Second})
	if err == nil {
		defer p.Stop()
		select {
		case <-p.Done():
		case <-time.After(20 * time.Second):
			t.Fatal("peer outlived its 1 s lifetime by 20 s")
		}
		err = p.ExitErr()
	}
	require.ErrorIs(t, err, ErrMaxLifetime)
	assert.Contains(t, err.Error(), "maximum lifetime")
	assert.Contains(t, err.Error(), "--x-max-seconds=1 reached")
}

func TestTwoPeersRunSideBySideOnDifferentPorts(t *testing.T) {
	Require(t)
	fixed := freeUDPPort(t)
	opts := []Options{
		{Images: []string{imageV2}},
		{Port: fixed, Mode: ModeStock, Passcode: 34567890, Discriminator: 0xABC, VendorID: 0xFFF2, ProductID: 0x8001},
	}
	peers := make([]*Peer, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i := range opts {
		wg.Go(func() { peers[i], errs[i] = Start(t.Context(), opts[i]) })
	}
	wg.Wait()
	for i, p := range peers {
		if p != nil {
			t.Cleanup(func() { assert.NoError(t, p.Stop()) })
		}
		require.NoError(t, errs[i], "peer %d", i)
	}

	a, b := peers[0], peers[1]
	assert.NotEqual(t, a.Port, b.Port)
	assert.Equal(t, fixed, b.Port, "an explicit port is used as given")
	assert.NotEqual(t, a.PID, b.PID)
	assert.NotEqual(t, a.StorageDir, b.StorageDir)
	assert.Equal(t, ModeStock, b.Mode)
	assert.Equal(t, uint32(34567890), b.Passcode)
	assert.Equal(t, uint16(0xABC), b.Discriminator)
	assert.Equal(t, uint16(0xFFF2), b.VendorID)
	assert.Empty(t, b.Images)
	for _, p := range peers {
		assert.True(t, probeUDP(t, p.IPv4), "nothing bound at %v", p.IPv4)
		assert.True(t, probeUDP(t, p.IPv6), "nothing bound at %v", p.IPv6)
	}

	// Stopping one leaves the other serving.
	require.NoError(t, a.Stop())
	assert.True(t, probeUDP(t, b.IPv6), "second peer died with the first")
}

func TestStartHonoursItsContext(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	p, err := Start(ctx, Options{})
	if p != nil {
		_ = p.Stop()
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "waiting for READY")
}

func TestMadeImageIsReadBackByMatterJS(t *testing.T) {
	Require(t)
	out := filepath.Join(t.TempDir(), "rt.ota")
	minV, maxV := uint32(5), uint32(9)
	made, err := MakeImage(t.Context(), ImageSpec{
		Out: out, VendorID: 0x1234, ProductID: 0xABCD, SoftwareVersion: 0x01020304,
		SoftwareVersionString: "v16909060", PayloadSize: 3000, MinApplicable: &minV, MaxApplicable: &maxV,
		ReleaseNotesURL: "https://example.com/n", Digest: "SHA-512",
	})
	require.NoError(t, err)
	file, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, int64(len(file)), made.Size)
	assert.Equal(t, sha256Hex(file), made.SHA256)

	h, err := ReadImage(t.Context(), out)
	require.NoError(t, err)
	payloadDigest := sha512.Sum512(PatternPayload(3000))
	assert.Equal(t, ImageHeader{
		FileSize: int64(len(file)), TotalSize: uint64(len(file)), HeaderSize: h.HeaderSize,
		VendorID: 0x1234, ProductID: 0xABCD, SoftwareVersion: 0x01020304, SoftwareVersionString: "v16909060",
		PayloadSize: 3000, MinApplicable: &minV, MaxApplicable: &maxV, ReleaseNotesURL: "https://example.com/n",
		ImageDigestType: 8, ImageDigest: payloadDigest[:], FullFileChecksum: made.FullFileChecksum,
		SHA256: made.SHA256,
	}, h)
	assert.Equal(t, len(file), 16+int(h.HeaderSize)+3000, "prefix + header + payload is the whole file")
	assert.True(t, bytes.HasSuffix(file, PatternPayload(3000)), "the payload is the documented pattern")
}

func TestMkimageReproducesTheCommittedImages(t *testing.T) {
	Require(t)
	tests := []struct {
		file string
		spec ImageSpec
	}{
		{imageV2, ImageSpec{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 2, PayloadSize: 4096}},
		{imageV3SHA512, ImageSpec{
			VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 3, SoftwareVersionString: "3.0.0-rc1",
			PayloadSize: 1000, MinApplicable: ptr[uint32](1), MaxApplicable: ptr[uint32](2),
			ReleaseNotesURL: "https://example.com/otaconf/notes", Digest: "SHA-512",
		}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file)+" is byte-identical when regenerated", func(t *testing.T) {
			t.Parallel()
			tc.spec.Out = filepath.Join(t.TempDir(), "regen.ota")
			_, err := MakeImage(t.Context(), tc.spec)
			require.NoError(t, err)
			got, err := os.ReadFile(tc.spec.Out)
			require.NoError(t, err)
			want, err := os.ReadFile(tc.file)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestReadImageRejectsCorruptedImages(t *testing.T) {
	Require(t)
	good, err := os.ReadFile(imageV2)
	require.NoError(t, err)
	headerSize := int(binary.LittleEndian.Uint32(good[12:16]))
	payloadAt := 16 + headerSize

	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"a flipped payload byte fails the digest", mutate(func(b []byte) []byte { b[payloadAt+100] ^= 1; return b }), "digest mismatch"},
		{"a truncated payload fails the size check", good[:len(good)-10], "payload size mismatch"},
		{"an extra trailing byte fails the size check", append(bytes.Clone(good), 0), "payload size mismatch"},
		{"a wrong file identifier is refused", mutate(func(b []byte) []byte { b[0] ^= 0xFF; return b }), "Invalid OTA file identifier"},
		{"a TotalSize that disagrees with the file is refused", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[4:12], uint64(len(b)+1))
			return b
		}), "size mismatch"},
		{"a file shorter than its prefix is refused", good[:10], "ended unexpectedly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "bad.ota")
			require.NoError(t, os.WriteFile(path, tc.file, 0o644))
			_, err := ReadImage(t.Context(), path)
			require.ErrorIs(t, err, ErrInvalidImage)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("the untouched image is accepted", func(t *testing.T) {
		t.Parallel()
		h, err := ReadImage(t.Context(), imageV2)
		require.NoError(t, err)
		digest := sha256.Sum256(PatternPayload(4096))
		assert.Equal(t, digest[:], h.ImageDigest)
		assert.Equal(t, uint8(1), h.ImageDigestType, "IANA hash id 1 is SHA-256")
	})
}

func TestCommittedImagesCarryThePatternPayloadAndItsDigest(t *testing.T) {
	// Pure Go: no node needed, so this checks the vectors even where the peer is unavailable.
	tests := []struct {
		file    string
		payload int
		digest  func([]byte) []byte
	}{
		{imageV2, 4096, func(b []byte) []byte { d := sha256.Sum256(b); return d[:] }},
		{imageV3SHA512, 1000, func(b []byte) []byte { d := sha512.Sum512(b); return d[:] }},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			require.NoError(t, err)
			require.Greater(t, len(b), 16)
			assert.Equal(t, uint32(0x1BEEF11E), binary.LittleEndian.Uint32(b[0:4]), "file identifier")
			assert.Equal(t, uint64(len(b)), binary.LittleEndian.Uint64(b[4:12]), "TotalSize")
			headerSize := int(binary.LittleEndian.Uint32(b[12:16]))
			assert.Equal(t, len(b), 16+headerSize+tc.payload)
			payload := PatternPayload(tc.payload)
			assert.Equal(t, payload, b[16+headerSize:])
			assert.True(t, bytes.Contains(b[16:16+headerSize], tc.digest(payload)), "header tag 9 holds the payload digest")
		})
	}
}

func TestAvailableSaysHowToEnableThePeer(t *testing.T) {
	nodeOK := func(context.Context) (string, error) { return "v20.20.2", nil }
	tests := []struct {
		name    string
		dir     string
		version func(context.Context) (string, error)
		wants   []string
	}{
		{"without node_modules", t.TempDir(), nodeOK, []string{"@matter/main is not installed", "cd interop/matterjs && npm ci"}},
		{"without node", t.TempDir(), func(context.Context) (string, error) {
			return "", errors.New(`exec: "node": executable file not found in $PATH`)
		}, []string{"executable file not found", "npm ci"}},
		{"with an unsupported node", t.TempDir(), func(context.Context) (string, error) { return "v22.3.0", nil },
			[]string{"node v22.3.0", ">=20.19.0 <22.0.0 or >=22.13.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkAvailable(tc.dir, tc.version)
			require.ErrorIs(t, err, ErrUnavailable)
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	t.Run("with a different matter.js version installed", func(t *testing.T) {
		dir := t.TempDir()
		for _, pkg := range pinnedPackages {
			pd := filepath.Join(dir, "node_modules", filepath.FromSlash(pkg))
			require.NoError(t, os.MkdirAll(pd, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(pd, "package.json"), []byte(`{"version":"0.18.0"}`), 0o644))
		}
		err := checkAvailable(dir, nodeOK)
		require.ErrorIs(t, err, ErrUnavailable)
		assert.Contains(t, err.Error(), `"0.18.0", the pinned version is "0.17.9"`)
	})
}

func TestNodeVersionsFollowTheMatterJSEnginesRange(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"v20.20.2", true},
		{"v20.19.0", true},
		{"v20.18.3", false},
		{"v18.20.0", false},
		{"v21.7.3", false},
		{"v22.12.0", false},
		{"v22.13.0", true},
		{"v24.1.0", true},
		{"v22.14.0-nightly20250101abc", true},
		{"20.20.2", false},
		{"v20.20", false},
		{"vX.Y.Z", false},
		{"", false},
	}
	for _, tc := range tests {
		name := tc.version + " is rejected"
		if tc.ok {
			name = tc.version + " is accepted"
		}
		t.Run(name, func(t *testing.T) {
			err := checkNodeVersion(tc.version)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, errNodeVersion)
			}
		})
	}
}

// recordingTB captures what Require does; Fatalf and Skip do not stop the goroutine here.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = format }
func (r *recordingTB) Skip(args ...any)                  { r.skip = args[0].(string) }

func TestRequireFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	missing := errors.New("matter.js peer unavailable: to enable: cd interop/matterjs && npm ci")
	tests := []struct {
		name        string
		avail       error
		ci          bool
		fatal, skip bool
	}{
		{"an available peer neither fails nor skips", nil, true, false, false},
		{"a missing peer under CI=true fails the test", missing, true, true, false},
		{"a missing peer outside CI skips with the hint", missing, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recordingTB{}
			requireWith(r, tc.avail, tc.ci)
			assert.Equal(t, tc.fatal, r.fatal != "", "fatal: %q", r.fatal)
			assert.Equal(t, tc.skip, r.skip != "", "skip: %q", r.skip)
			if tc.skip {
				assert.Contains(t, r.skip, "npm ci")
			}
		})
	}
}

func TestExitErrorMessagesSayWhatHappened(t *testing.T) {
	tests := []struct {
		name string
		err  ExitError
		want string
	}{
		{"a failed start quotes stderr", ExitError{PID: 7, Code: 1, Stage: "before READY", StderrTail: "provider.mjs: error: boom"},
			"matter.js peer (pid 7) exited with status 1 before READY; stderr: provider.mjs: error: boom"},
		{"a usage error is labelled", ExitError{PID: 7, Code: 2, Stage: "before READY"}, "status 2 (usage error)"},
		{"a lifetime exit is labelled", ExitError{PID: 7, Code: 3, Stage: "after READY"}, "status 3 (maximum lifetime reached) after READY"},
		{"a signal death names the signal", ExitError{PID: 7, Code: -1, Signal: "killed", Stage: "after READY"}, "was killed by killed after READY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Contains(t, tc.err.Error(), tc.want)
		})
	}
	assert.ErrorIs(t, &ExitError{Code: 3}, ErrMaxLifetime)
	assert.NotErrorIs(t, &ExitError{Code: 1}, ErrMaxLifetime)
}

func sha256Hex(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

func ptr[T any](v T) *T { return &v }

// requestorResult is requestor.mjs's JSON output.
type requestorResult struct {
	Steps struct {
		Commission struct {
			ProviderNodeID   string `json:"providerNodeId"`
			ControllerNodeID string `json:"controllerNodeId"`
		} `json:"commission"`
		QueryImage struct {
			Status                uint8  `json:"status"`
			ImageURI              string `json:"imageUri"`
			SoftwareVersion       uint32 `json:"softwareVersion"`
			SoftwareVersionString string `json:"softwareVersionString"`
			UpdateToken           string `json:"updateToken"`
		} `json:"queryImage"`
		Download *struct {
			Designator string `json:"designator"`
			Bytes      int64  `json:"bytes"`
			SHA256     string `json:"sha256"`
		} `json:"download"`
		ApplyUpdateRequest *struct {
			Action uint8 `json:"action"`
		} `json:"applyUpdateRequest"`
		NotifyUpdateApplied *struct {
			Status uint8 `json:"status"`
		} `json:"notifyUpdateApplied"`
	} `json:"steps"`
}

// runRequestor commissions p with matter.js's own controller (requestor.mjs) and walks QueryImage →
// BDX → ApplyUpdateRequest → NotifyUpdateApplied as a requestor running softwareVersion.
func runRequestor(t *testing.T, p *Peer, addr netip.AddrPort, softwareVersion uint32) requestorResult {
	t.Helper()
	out, code, stderr, err := runScript(t.Context(), "requestor.mjs", []string{
		"--x-port=" + strconv.Itoa(int(addr.Port())),
		"--x-address=" + addr.Addr().String(),
		"--x-passcode=" + strconv.FormatUint(uint64(p.Passcode), 10),
		"--x-endpoint=" + strconv.Itoa(int(p.Endpoint)),
		"--x-software-version=" + strconv.FormatUint(uint64(softwareVersion), 10),
	})
	require.NoError(t, err)
	require.Equal(t, 0, code, "requestor.mjs failed: %s", stderr)
	var res requestorResult
	require.NoError(t, json.Unmarshal(out, &res), "requestor.mjs output %q", out)
	return res
}

func TestLocalModeServesTheNewestApplicableImageToAMatterJSRequestor(t *testing.T) {
	Require(t)
	p, err := Start(t.Context(), Options{Images: []string{imageV2, imageV3SHA512}})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Stop()) })

	v3, err := os.ReadFile(imageV3SHA512)
	require.NoError(t, err)
	res := runRequestor(t, p, p.IPv6, 1)
	s := res.Steps
	require.Equal(t, uint8(0), s.QueryImage.Status, "QueryImage status must be UpdateAvailable")
	assert.Equal(t, uint32(3), s.QueryImage.SoftwareVersion, "v3 (min 1, max 2) applies to version 1 and beats v2")
	assert.Equal(t, "3.0.0-rc1", s.QueryImage.SoftwareVersionString)
	assert.Regexp(t, `^[0-9a-f]{64}$`, s.QueryImage.UpdateToken, "a 32-byte token")
	// matter.js puts the fabric's root (CaseAdminSubject) node id in the URI, i.e. the commissioner's.
	assert.Equal(t, "bdx://"+s.Commission.ControllerNodeID+"/ota/fff1.8000.local.3", s.QueryImage.ImageURI)
	require.NotNil(t, s.Download)
	assert.Equal(t, int64(len(v3)), s.Download.Bytes)
	assert.Equal(t, sha256Hex(v3), s.Download.SHA256, "BDX delivered the stored file unchanged")
	require.NotNil(t, s.ApplyUpdateRequest)
	assert.Equal(t, uint8(0), s.ApplyUpdateRequest.Action, "the recorded consent makes Apply answer Proceed")
	require.NotNil(t, s.NotifyUpdateApplied)
}

func TestProviderModesAnswerNotAvailableWhenTheyShould(t *testing.T) {
	Require(t)
	tests := []struct {
		name            string
		mode            Mode
		softwareVersion uint32
	}{
		{"local mode has nothing newer for a requestor already at version 3", ModeLocal, 3},
		{"stock mode serves nobody it did not commission itself", ModeStock, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(t.Context(), Options{Mode: tc.mode, Images: []string{imageV2, imageV3SHA512}})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Stop()) })
			res := runRequestor(t, p, p.IPv4, tc.softwareVersion)
			assert.Equal(t, uint8(2), res.Steps.QueryImage.Status, "QueryImage status must be NotAvailable")
			assert.Empty(t, res.Steps.QueryImage.ImageURI)
			assert.Nil(t, res.Steps.Download)
		})
	}
}
