package watch

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestWatchErrMarksTheSystemLimit(t *testing.T) {
	// What fsnotify returns when inotify_add_watch hits max_user_watches.
	full := fmt.Errorf("add: %w", &os.SyscallError{Syscall: "inotify_add_watch", Err: syscall.ENOSPC})
	if err := watchErr(full); !errors.Is(err, ErrFolderLimit) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("watchErr(%v) = %v, want ErrFolderLimit wrapping ENOSPC", full, err)
	}

	denied := &os.PathError{Op: "open", Path: "x", Err: syscall.EACCES}
	if err := watchErr(denied); errors.Is(err, ErrFolderLimit) {
		t.Errorf("watchErr(%v) = %v, want it unmarked", denied, err)
	}
}
