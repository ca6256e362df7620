//go:build !linux

package matterjs

import (
	"errors"
	"net/netip"
)

type boundSocket struct {
	Proto string
	Local netip.AddrPort
}

func socketsOf(int) ([]boundSocket, error) {
	return nil, errors.New("listing a process's sockets needs Linux /proc")
}
