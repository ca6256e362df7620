//go:build unix

package matterjs

import (
	"os"
	"os/exec"
	"syscall"
)

var (
	termSignal = syscall.SIGTERM
	killSignal = syscall.SIGKILL
)

// setProcessGroup makes the child lead a new process group, so Stop can signal it and anything it
// spawned in one call, and a Ctrl-C aimed at `go test` does not reach it before Stop does.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group led by pid. ESRCH (nobody left) is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pid, sig); err != nil && err != syscall.ESRCH {
		return os.NewSyscallError("kill", err)
	}
	return nil
}

// groupAlive reports whether any process of the group led by pid still exists.
func groupAlive(pid int) bool {
	return syscall.Kill(-pid, 0) == nil
}

// exitSignal names the signal that ended the process, or "".
func exitSignal(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}
