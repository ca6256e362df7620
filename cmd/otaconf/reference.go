package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/otaconf/otaconf/cases"
	"github.com/otaconf/otaconf/harness/adapter"
	"github.com/otaconf/otaconf/reference"
)

func newReferenceCmd() *cobra.Command {
	var (
		stdio  bool
		images string
	)
	cmd := &cobra.Command{
		Use:   "reference --stdio [--images DIR]",
		Short: "Serve the reference provider over the adapter protocol on stdin/stdout",
		Long: `Serve the reference OTA provider over otaconf's adapter protocol (JSON lines on stdin and
stdout, documented in the README), for example as a target of another otaconf:

  otaconf run --target exec:'otaconf reference --stdio'

It exits when stdin closes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !stdio {
				return usageError(errors.New("only --stdio is supported: the network listener comes later"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p, _, err := newReference(ctx, images)
			if err != nil {
				return usageError(err)
			}
			return adapter.Serve(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), p,
				adapter.ServeOptions{Fabrics: []uint8{1, 2}, PICS: cases.ReferencePICS})
		},
	}
	cmd.Flags().BoolVar(&stdio, "stdio", false, "speak the adapter protocol on stdin/stdout")
	cmd.Flags().StringVar(&images, "images", "", "directory of .ota files (default: a generated 1 MiB image)")
	return cmd
}

// newReference builds the reference provider every command uses: the generated image (whose bytes
// it also returns) or a directory of images, node ids on fabrics 1 and 2, and an HTTPS base URL so
// that HTTPS offers exist.
func newReference(ctx context.Context, images string) (*reference.Provider, []byte, error) {
	var cat *reference.Catalog
	var file []byte
	var err error
	if images != "" {
		cat, err = reference.LoadDir(images)
	} else {
		cat, file, err = reference.DefaultCatalog(ctx)
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := reference.NewDefault(ctx, cat)
	return p, file, err
}
