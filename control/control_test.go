package control

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
)

func TestOwnerOnlySocket(t *testing.T) {
	dir := t.TempDir()
	srv, err := Listen(dir, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st, err := os.Stat(SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := Listen(dir, http.NotFoundHandler()); !errors.Is(err, ErrRunning) {
		t.Errorf("a second run got %v, want ErrRunning", err)
	}
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(context.Background(), "GET", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello" {
		t.Errorf("got %q", b)
	}
}

func TestDialWithoutRun(t *testing.T) {
	if _, err := Dial(t.TempDir()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("got %v, want ErrNotRunning", err)
	}
}
