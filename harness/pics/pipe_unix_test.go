//go:build unix

package pics

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPipeCanCarryTextPICS(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pics.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan error, 1)
	go func() {
		// Opening for writing blocks until Load opens the other end.
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.WriteString("MCORE.OTA.Provider=1\nMCORE.OTA.HTTPS=0\n")
			w.Close()
		}
		done <- err
	}()
	t.Cleanup(func() {
		// Should Load never have opened the pipe, open it here so that the writer ends.
		if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			r.Close()
		}
		<-done
	})
	set, _, err := Load(fifo)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"MCORE.OTA.PROVIDER": true, "MCORE.OTA.HTTPS": false}, set.Map())
}
