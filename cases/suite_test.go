package cases

import (
	"context"
	"testing"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/require"
)

func referenceTarget(t testing.TB) (harness.Target, []byte) {
	cat, file, err := reference.DefaultCatalog(context.Background())
	require.NoError(t, err)
	p, err := reference.NewDefault(context.Background(), cat)
	require.NoError(t, err)
	return harness.InProcess("embedded reference", p, []uint8{1, 2}, ReferencePICS), file
}

func TestTheReferenceProviderPassesEveryCase(t *testing.T) {
	target, file := referenceTarget(t)
	opts := harness.Options{Strict: true, Profile: harness.DefaultProfile}
	opts.Profile.Image = file
	harness.TestTarget(t, target, All(), opts)
}

func TestThereAreWellOverFortyCasesWithCompleteMetadata(t *testing.T) {
	all := All()
	require.NoError(t, harness.Validate(all))
	require.Greater(t, len(all), 40)
}
