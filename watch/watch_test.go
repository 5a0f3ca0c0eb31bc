package watch_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/membrane-dev/membrane-dev/watch"
)

// wait bounds how long a test waits for something that should happen. It
// only turns a hang into a failure; no test depends on how fast anything is.
const wait = 5 * time.Second

// testOptions joins the steps of one save even on a loaded machine, where
// the test's goroutine can stall for a while between two system calls. The
// default Quiet serves editors, whose steps are microseconds apart.
var testOptions = watch.Options{Quiet: 500 * time.Millisecond, MaxWait: 10 * time.Second}

// sentinel is the file each test writes last: since the watcher handles
// events in order, a stray path from an earlier step would arrive with it or
// before it.
const sentinel = "sentinel.js"

// program makes a folder holding files, relative path to content.
func program(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "prog")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, content := range files {
		write(t, dir, rel, content)
	}
	return dir
}

func start(t *testing.T, dir string, opts watch.Options) *watch.Watcher {
	t.Helper()
	w, err := watch.New(dir, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// next waits for the next batch, failing on an error or a timeout.
func next(t *testing.T, w *watch.Watcher) []string {
	t.Helper()
	select {
	case b, ok := <-w.Changes():
		if !ok {
			t.Fatal("Changes closed")
		}
		return b.Paths
	case err := <-w.Errors():
		t.Fatalf("error from watcher: %v", err)
	case <-time.After(wait):
		t.Fatalf("no batch within %v", wait)
	}
	return nil
}

// expect checks that the next batch is exactly want, then that nothing else
// was pending: the sentinel written next arrives alone.
func expect(t *testing.T, w *watch.Watcher, dir string, want ...string) {
	t.Helper()
	if got := next(t, w); !slices.Equal(got, want) {
		t.Fatalf("batch = %q, want %q", got, want)
	}
	expectNothing(t, w, dir)
}

// expectNothing checks that no change is pending or on its way.
func expectNothing(t *testing.T, w *watch.Watcher, dir string) {
	t.Helper()
	write(t, dir, sentinel, "// "+time.Now().String())
	if got := next(t, w); !slices.Equal(got, []string{sentinel}) {
		t.Fatalf("batch = %q, want only the sentinel %q", got, sentinel)
	}
}

// Each way editors save must give one batch naming the real file.
func TestSaves(t *testing.T) {
	saves := []struct {
		name string
		save func(t *testing.T, dir string)
	}{
		{"plain write", func(t *testing.T, dir string) {
			write(t, dir, "index.ts", "export const v = 2;")
		}},
		{"truncate then write", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "index.ts")
			must(t, os.Truncate(path, 0))
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteString("export const v = 2;")
			must(t, err)
			must(t, f.Close())
		}},
		{"rename over, VS Code", func(t *testing.T, dir string) {
			write(t, dir, "index.ts.vsctmp", "export const v = 2;")
			must(t, os.Rename(filepath.Join(dir, "index.ts.vsctmp"), filepath.Join(dir, "index.ts")))
		}},
		{"rename over, numbered temp", func(t *testing.T, dir string) {
			write(t, dir, "index.ts.2881719282", "export const v = 2;")
			must(t, os.Rename(filepath.Join(dir, "index.ts.2881719282"),
				filepath.Join(dir, "index.ts")))
		}},
		{"vim with a backup", func(t *testing.T, dir string) {
			write(t, dir, ".index.ts.swx", "")
			must(t, os.Remove(filepath.Join(dir, ".index.ts.swx")))
			write(t, dir, ".index.ts.swp", "swap")
			write(t, dir, "4913", "")
			must(t, os.Remove(filepath.Join(dir, "4913")))
			must(t, os.Rename(filepath.Join(dir, "index.ts"), filepath.Join(dir, "index.ts~")))
			write(t, dir, "index.ts", "export const v = 2;")
			must(t, os.Chmod(filepath.Join(dir, "index.ts"), 0o644))
			must(t, os.Remove(filepath.Join(dir, "index.ts~")))
			must(t, os.Remove(filepath.Join(dir, ".index.ts.swp")))
		}},
		{"JetBrains safe write", func(t *testing.T, dir string) {
			write(t, dir, "index.ts___jb_tmp___", "export const v = 2;")
			must(t, os.Rename(filepath.Join(dir, "index.ts"),
				filepath.Join(dir, "index.ts___jb_old___")))
			must(t, os.Rename(filepath.Join(dir, "index.ts___jb_tmp___"),
				filepath.Join(dir, "index.ts")))
			must(t, os.Remove(filepath.Join(dir, "index.ts___jb_old___")))
		}},
		{"emacs with lock and backup", func(t *testing.T, dir string) {
			must(t, os.Symlink("user@host.1234:1", filepath.Join(dir, ".#index.ts")))
			write(t, dir, "#index.ts#", "autosave")
			must(t, os.Rename(filepath.Join(dir, "index.ts"), filepath.Join(dir, "index.ts~")))
			write(t, dir, "index.ts", "export const v = 2;")
			must(t, os.Remove(filepath.Join(dir, "#index.ts#")))
			must(t, os.Remove(filepath.Join(dir, ".#index.ts")))
		}},
	}
	for _, s := range saves {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			dir := program(t, map[string]string{
				"index.ts": "export const v = 1;",
				"lib.ts":   "export const w = 1;",
			})
			w := start(t, dir, testOptions)

			s.save(t, dir)
			expect(t, w, dir, "index.ts")

			// The file is still watched after it was replaced.
			s.save(t, dir)
			expect(t, w, dir, "index.ts")
		})
	}
}

func TestEditImportedFile(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{
		"index.ts":                      `import { w } from "./lib/math";`,
		"lib/math.ts":                   "export const w = 1;",
		"node_modules/leftpad/index.js": "module.exports = 1;",
	})
	w := start(t, dir, testOptions)

	write(t, dir, "lib/math.ts", "export const w = 2;")
	expect(t, w, dir, "lib/math.ts")

	write(t, dir, "node_modules/leftpad/index.js", "module.exports = 2;")
	expect(t, w, dir, "node_modules/leftpad/index.js")
}

func TestNewFolders(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{"index.ts": ""})
	w := start(t, dir, testOptions)

	t.Run("a folder, then a file in it", func(t *testing.T) {
		must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		expectNothing(t, w, dir)
		write(t, dir, "sub/a.ts", "1")
		expect(t, w, dir, "sub/a.ts")
		write(t, dir, "sub/a.ts", "2")
		expect(t, w, dir, "sub/a.ts")
	})

	t.Run("nested folders filled at once", func(t *testing.T) {
		// The file is likely written before the watch on its folder is
		// added; the scan of the new folder must find it.
		write(t, dir, "deep/er/est/x.ts", "1")
		expect(t, w, dir, "deep/er/est/x.ts")
		write(t, dir, "deep/er/est/x.ts", "2")
		expect(t, w, dir, "deep/er/est/x.ts")
	})

	t.Run("a filled folder moved in", func(t *testing.T) {
		outside := t.TempDir()
		write(t, outside, "pkg/a.ts", "1")
		write(t, outside, "pkg/b/c.json", "{}")
		write(t, outside, "pkg/README.md", "#")
		must(t, os.Rename(filepath.Join(outside, "pkg"), filepath.Join(dir, "pkg")))
		expect(t, w, dir, "pkg/a.ts", "pkg/b/c.json")

		write(t, dir, "pkg/b/c.json", "[]")
		expect(t, w, dir, "pkg/b/c.json")
	})
}

func TestRenameFolder(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{
		"index.ts":       "",
		"src/a.ts":       "1",
		"src/inner/b.ts": "1",
	})
	w := start(t, dir, testOptions)

	must(t, os.Rename(filepath.Join(dir, "src"), filepath.Join(dir, "lib")))
	expect(t, w, dir, "lib/a.ts", "lib/inner/b.ts", "src/a.ts", "src/inner/b.ts")

	// The moved folders are watched under their new names...
	write(t, dir, "lib/a.ts", "2")
	expect(t, w, dir, "lib/a.ts")
	write(t, dir, "lib/inner/b.ts", "2")
	expect(t, w, dir, "lib/inner/b.ts")

	// ...and the old name can be used again.
	write(t, dir, "src/c.ts", "1")
	expect(t, w, dir, "src/c.ts")
}

func TestRemove(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{
		"index.ts":   "",
		"a.ts":       "",
		"sub/x.ts":   "",
		"sub/y/z.js": "",
		"sub/r.md":   "",
	})
	w := start(t, dir, testOptions)

	must(t, os.Remove(filepath.Join(dir, "a.ts")))
	expect(t, w, dir, "a.ts")

	must(t, os.RemoveAll(filepath.Join(dir, "sub")))
	expect(t, w, dir, "sub/x.ts", "sub/y/z.js")
}

func TestIgnoredFilesGiveNothing(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{
		"index.ts":                   "",
		".git/HEAD":                  "ref: refs/heads/main",
		"node_modules/.cache/k.json": "{}",
	})
	w := start(t, dir, testOptions)

	for _, rel := range []string{
		".git/HEAD", ".git/hooks/post-commit.js",
		".membrane/bundle.js", ".membrane/log.db",
		"node_modules/.cache/k.json", "node_modules/.cache/babel/new.json",
		"sub/.git/config.json",
		"README.md", "notes.txt",
		"4913", ".index.ts.swp", ".index.ts.swx", "index.ts~", "#index.ts#",
		"index.ts.tmp", "index.ts___jb_tmp___", "index.ts___jb_old___",
		"index.ts.vsctmp", ".DS_Store",
	} {
		write(t, dir, rel, "x")
	}
	must(t, os.Symlink("user@host.1:1", filepath.Join(dir, ".#index.ts")))

	// Touching a file changes no content.
	now := time.Now()
	must(t, os.Chtimes(filepath.Join(dir, "index.ts"), now, now))
	must(t, os.Chmod(filepath.Join(dir, "index.ts"), 0o600))

	expectNothing(t, w, dir)
}

func TestBurstGivesOneBatch(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{"a.ts": "", "b.ts": "", "lib/c.ts": ""})
	w := start(t, dir, testOptions)

	// A formatter saving three files, twenty times over.
	for i := range 20 {
		for _, rel := range []string{"a.ts", "b.ts", "lib/c.ts"} {
			write(t, dir, rel, "// "+string(rune('a'+i)))
		}
	}
	expect(t, w, dir, "a.ts", "b.ts", "lib/c.ts")
}

func TestMaxWaitBoundsAStream(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{"a.ts": ""})
	// Quiet never passes while the stream runs, so only MaxWait can end the
	// burst.
	w := start(t, dir, watch.Options{Quiet: time.Minute, MaxWait: 200 * time.Millisecond})

	stop := make(chan struct{})
	stopped := make(chan error)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				stopped <- nil
				return
			case <-tick.C:
				path := filepath.Join(dir, "a.ts")
				if err := os.WriteFile(path, []byte(time.Now().String()), 0o644); err != nil {
					stopped <- err
					return
				}
			}
		}
	}()

	got := next(t, w)
	close(stop)
	must(t, <-stopped)
	if !slices.Equal(got, []string{"a.ts"}) {
		t.Fatalf("batch = %q, want [a.ts]", got)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{"a.ts": ""})
	w, err := watch.New(dir, testOptions)
	must(t, err)

	// A burst open and nobody reading must not hold Close up.
	write(t, dir, "a.ts", "2")
	write(t, dir, "b.ts", "1")

	closed := make(chan error)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		must(t, err)
	case <-time.After(wait):
		t.Fatalf("Close did not return within %v", wait)
	}

	if _, ok := <-w.Changes(); ok {
		t.Error("Changes delivered a batch after Close")
	}
	if _, ok := <-w.Errors(); ok {
		t.Error("Errors delivered an error after Close")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Changes after Close go nowhere, and nothing panics.
	write(t, dir, "a.ts", "3")
}

func TestCloseWithBatchWaiting(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{"a.ts": ""})
	w, err := watch.New(dir, watch.Options{Quiet: time.Millisecond})
	must(t, err)

	write(t, dir, "a.ts", "2")
	// Give the burst time to settle so a batch is waiting to be received;
	// Close must return whether or not it has.
	time.Sleep(50 * time.Millisecond)

	closed := make(chan error)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		must(t, err)
	case <-time.After(wait):
		t.Fatalf("Close did not return within %v", wait)
	}
}

func TestRootRemoved(t *testing.T) {
	t.Parallel()
	dir := program(t, map[string]string{"a.ts": "", "sub/b.ts": ""})
	w := start(t, dir, testOptions)

	must(t, os.RemoveAll(dir))
	deadline := time.After(wait)
	for {
		select {
		case <-w.Changes():
			// The files' removal; the error is what matters here.
		case err := <-w.Errors():
			if !errors.Is(err, watch.ErrRootGone) {
				t.Fatalf("error = %v, want ErrRootGone", err)
			}
			return
		case <-deadline:
			t.Fatalf("no ErrRootGone within %v", wait)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	dir := program(t, map[string]string{"a.ts": ""})

	_, err := watch.New(filepath.Join(dir, "missing"), watch.Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New on a missing folder: %v, want fs.ErrNotExist", err)
	}
	_, err = watch.New(filepath.Join(dir, "a.ts"), watch.Options{})
	if !errors.Is(err, watch.ErrNotDir) {
		t.Errorf("New on a file: %v, want ErrNotDir", err)
	}
}
