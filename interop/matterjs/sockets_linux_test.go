//go:build linux

package matterjs

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// boundSocket is one socket of a process as /proc/net/{udp,udp6,tcp,tcp6} lists it.
type boundSocket struct {
	Proto string
	Local netip.AddrPort
}

// socketsOf lists the UDP and TCP sockets held by pid, by matching the socket inodes of its open file
// descriptors against the kernel's socket tables. TCP entries are listening or connected sockets.
func socketsOf(pid int) ([]boundSocket, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue // closed in the meantime
		}
		if ino, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	var out []boundSocket
	for _, proto := range []string{"udp", "udp6", "tcp", "tcp6"} {
		socks, err := readProcNet(fmt.Sprintf("/proc/%d/net/%s", pid, proto), proto, inodes)
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	return out, nil
}

func readProcNet(path, proto string, inodes map[string]bool) ([]boundSocket, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []boundSocket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
		if len(fields) < 10 || !inodes[fields[9]] {
			continue
		}
		ap, err := parseProcAddr(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, boundSocket{Proto: proto, Local: ap})
	}
	return out, sc.Err()
}

// parseProcAddr decodes "0100007F:1F90" (IPv4) or the 32-hex-digit IPv6 form. The kernel prints the
// address as host-order 32-bit words, i.e. little-endian on the machines we run on.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q: %w", s, err)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q: %w", s, err)
	}
	switch len(raw) {
	case 4:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(raw))
		return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(port)), nil
	case 16:
		var a [16]byte
		for i := 0; i < 16; i += 4 {
			binary.BigEndian.PutUint32(a[i:], binary.LittleEndian.Uint32(raw[i:]))
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a), uint16(port)), nil
	default:
		return netip.AddrPort{}, fmt.Errorf("bad address length in %q", s)
	}
}
