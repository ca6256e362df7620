//go:build !unix

package matterjs

import (
	"os"
	"os/exec"
)

// The peer is only supported where process groups exist; elsewhere Start still works, but Stop can
// only signal the node process itself.

type signal int

var (
	termSignal signal = 1
	killSignal signal = 2
)

func setProcessGroup(*exec.Cmd) {}

func signalGroup(pid int, sig signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if sig == termSignal {
		return p.Signal(os.Interrupt)
	}
	return p.Kill()
}

func groupAlive(int) bool { return false }

func exitSignal(*os.ProcessState) string { return "" }
