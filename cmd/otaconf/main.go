// Command otaconf is the conformance harness and fuzzer for Matter OTA Software Update Providers
// (cluster 0x0029): it decodes and encodes TLV, builds and inspects OTA image files, and runs the
// conformance cases. It is a command-line front end; the checks themselves live in the packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C or SIGTERM cancels the command's context, so a long run or verify stops cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
