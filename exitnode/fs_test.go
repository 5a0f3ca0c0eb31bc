package exitnode

import (
	"os"
	"testing"
	"time"
)

func chmod(path string, mode uint32) error { return os.Chmod(path, os.FileMode(mode)) }

// rewrite replaces a file's text and moves its modification time on, so the
// change is seen even where the clock is coarse.
func rewrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}
