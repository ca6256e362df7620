package reports

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/cases"
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/reference"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestARealRunRendersInEveryFormat runs the whole suite against the embedded reference, as the CLI
// would, with one PICS code withheld so that some cases skip, and renders the report every way.
func TestARealRunRendersInEveryFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	cat, file, err := reference.DefaultCatalog(t.Context())
	require.NoError(t, err)
	p, err := reference.New(reference.Config{Catalog: cat, NodeIDs: map[uint8]uint64{2: 0x00000000000B0D02}, HTTPSBaseURL: "https://ota.example.invalid/images/"})
	require.NoError(t, err)
	target := harness.InProcess("embedded reference", p, []uint8{1, 2}, cases.ReferencePICS)
	var progress bytes.Buffer
	opts := harness.Options{Seed: 7, PICS: map[string]bool{cases.PICSUserConsentNeeded: false}, OnResult: func(r harness.Result) { Progress(&progress, r) }}
	opts.Profile = harness.DefaultProfile
	opts.Profile.Image = file
	rep, err := harness.Run(context.Background(), target, cases.All(), opts)
	require.NoError(t, err)
	require.NotEmpty(t, rep.Results)
	require.Positive(t, rep.Summary.Skipped, "the withheld PICS code skips some cases")

	assert.Equal(t, len(rep.Results), strings.Count(progress.String(), "\n"), "one progress line per case")

	var con bytes.Buffer
	Console(&con, rep, ConsoleOptions{Verbose: true})
	assert.Contains(t, con.String(), "\nSummary\n")
	assert.Contains(t, con.String(), "  seed      7\n")
	for _, r := range rep.Results {
		assert.Contains(t, con.String(), "  "+r.ID+" ", "every case is listed")
	}

	var ju bytes.Buffer
	require.NoError(t, JUnit(&ju, rep))
	var got xSuites
	require.NoError(t, xml.Unmarshal(ju.Bytes(), &got))
	assert.Len(t, allCases(got), len(rep.Results))
	assert.Equal(t, rep.Summary.Skipped, got.Skipped)
	assert.Equal(t, rep.Summary.Failed, got.Failures)

	var js bytes.Buffer
	require.NoError(t, JSON(&js, rep))
	back, err := ReadJSON(&js)
	require.NoError(t, err)
	assert.True(t, rep.Started.Equal(back.Started))
	back.Started = rep.Started
	assert.Equal(t, rep, back)

	var page bytes.Buffer
	require.NoError(t, HTML(&page, rep))
	assert.Equal(t, len(rep.Results), strings.Count(page.String(), `<details class="case`))
}
