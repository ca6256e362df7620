package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// newRoot builds the command tree. Each subcommand lives in its own file as a newXxxCmd constructor
// and reads its streams from cmd.InOrStdin/OutOrStdout/ErrOrStderr and its logger from logger(cmd).
func newRoot() *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:   "otaconf",
		Short: "Conformance harness and fuzzer for Matter OTA Software Update Providers",
		Long: `otaconf tests Matter OTA Software Update Providers (cluster 0x0029) and works with their
data: Matter TLV and OTA image files.

Exit status: 0 success, 1 a problem the command was asked to detect (malformed input, a corrupted
image, failed cases), 2 a usage or configuration error; run also uses 3 for an unreachable target.
Errors are printed as one line on stderr.`,
		Args:          cobra.NoArgs,
		RunE:          needSubcommand,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Quiet by default: only --verbose gives the commands a logger that writes anything.
			if verbose {
				l := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
				cmd.SetContext(context.WithValue(cmd.Context(), loggerKey{}, l))
			}
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log what is being done to stderr")
	root.AddCommand(
		newTLVCmd(),
		newImageCmd(),
		newRunCmd(),
		newListCmd(),
		newReferenceCmd(),
		newFuzzCmd(),
	)
	return root
}

type loggerKey struct{}

// logger is the logger --verbose set up, or one that discards everything.
func logger(cmd *cobra.Command) *slog.Logger {
	if l, ok := cmd.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// group returns a command that only holds subcommands: run alone, or with an unknown subcommand, it
// is a usage error rather than cobra's silent help.
func group(use, short string, children ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: needSubcommand}
	c.AddCommand(children...)
	return c
}

func needSubcommand(cmd *cobra.Command, _ []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	var what string
	if cmd.HasParent() {
		what = cmd.Name() + " needs a subcommand"
	} else {
		what = "a command is needed"
	}
	return usageErrorf("%s (%s); see '%s --help'", what, strings.Join(names, ", "), cmd.CommandPath())
}

// run executes otaconf with args and returns the exit status. An error is printed as exactly one
// line, "otaconf: <message>", on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug must still end as one line and a status, never a stack trace.
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "otaconf: internal error: %s\n", oneLine(fmt.Sprint(p)))
			code = exitUsage
		}
	}()
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if line := errorLine(err); line != "" {
		fmt.Fprintf(stderr, "otaconf: %s\n", line)
	}
	return exitCode(err)
}
