// Package watch tells `membrane-dev run` when a program's files have changed
// enough to deploy again. It owns file watching only: building and deploying
// belong to its caller.
//
// A Watcher watches a program folder and every folder beneath it, including
// folders created or moved in later; a new folder is scanned when its watch
// is added, so files written into it before that are not missed. Only files
// a build can read matter (.ts .tsx .mts .cts .js .jsx .mjs .cjs .json,
// package.json among them); the log under .membrane/, version control,
// caches and editors' temporary and backup files are passed over, as Ignored
// describes. Symbolic links are not followed.
//
// Changes arrive in bursts: a save by rename touches a temporary file, the
// real file and perhaps a backup; a save that truncates then rewrites makes
// two writes; a formatter saves a dozen files at once. The Watcher gathers a
// burst and sends it as one Batch once Options.Quiet has passed without a
// change, or once Options.MaxWait has passed since the burst began, so a
// stream of changes still deploys. A Batch names the real files, never an
// editor's temporary ones.
//
// One goroutine owns all state. It reads the events of fsnotify, adds and
// removes watches as folders come and go, and offers the settled batch on
// Changes without ever blocking on the receiver: bursts that settle while the
// receiver is busy join the batch still waiting for it. Close stops that
// goroutine and then the fsnotify watcher, and closes both channels.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options tune a Watcher. The zero value is ready to use.
type Options struct {
	// Quiet is how long the folder must stay unchanged before a burst of
	// changes is sent as one Batch. Zero means 25ms: long enough to join the
	// steps of one save, short enough to go unnoticed.
	Quiet time.Duration

	// MaxWait bounds how long a burst may grow: once this much time has
	// passed since its first change, it is sent even if changes keep coming.
	// Zero means 500ms.
	MaxWait time.Duration

	// Logger receives debug lines for folders watched and batches sent, and
	// warnings when events were lost or an error was dropped because nobody
	// read Errors. Nil means silent.
	Logger *slog.Logger
}

const (
	defaultQuiet   = 25 * time.Millisecond
	defaultMaxWait = 500 * time.Millisecond

	// errBuffer is how many errors Errors holds for a receiver that is not
	// reading; more are logged and dropped.
	errBuffer = 16
)

// A Watcher reports changes to the files in one folder tree. Its methods are
// safe to call from any goroutine.
type Watcher struct {
	root string // absolute, as given to fsnotify
	log  *slog.Logger
	fw   *fsnotify.Watcher

	changes chan Batch
	errs    chan error
	done    chan struct{} // closed by Close
	exited  chan struct{} // closed when the loop returns

	closeOnce sync.Once
	closeErr  error

	// Owned by the loop goroutine once New returns.
	col   *collector
	dirs  map[string]bool // watched folders, relative; "." is the root
	files map[string]bool // files that matter, relative, as last seen
}

// New starts watching dir and everything beneath it, and returns once every
// folder is watched. It fails if dir cannot be watched; a folder beneath it
// that cannot be watched is reported on Errors instead, and the rest is
// watched.
func New(dir string, opts Options) (*Watcher, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("cannot watch %s: %w", dir, ErrNotDir)
	}

	if opts.Quiet <= 0 {
		opts.Quiet = defaultQuiet
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = defaultMaxWait
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	w := &Watcher{
		root:    root,
		log:     logger,
		fw:      fw,
		changes: make(chan Batch),
		errs:    make(chan error, errBuffer),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		col:     newCollector(opts.Quiet, opts.MaxWait),
		dirs:    make(map[string]bool),
		files:   make(map[string]bool),
	}
	if err := fw.Add(root); err != nil {
		fw.Close()
		return nil, fmt.Errorf("cannot watch %s: %w", dir, watchErr(err))
	}
	w.dirs["."] = true
	w.addTree(".", false)

	go w.loop()
	return w, nil
}

// Changes delivers one Batch per burst of changes. It is closed by Close.
func (w *Watcher) Changes() <-chan Batch { return w.changes }

// Errors delivers problems that do not stop the Watcher, such as a folder it
// could not watch, and ErrRootGone. It is closed by Close.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching, drops any burst not yet sent, and closes Changes and
// Errors. It waits for the Watcher's goroutine to end. Calling it again
// returns the first call's result.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		close(w.done)
		<-w.exited
		w.closeErr = w.fw.Close()
	})
	return w.closeErr
}

// loop is the Watcher's one goroutine. It must never block on the receiver:
// fsnotify stops reading the kernel's queue while its events go unread, and
// the kernel drops events when that queue fills.
func (w *Watcher) loop() {
	defer close(w.exited)
	defer close(w.errs)
	defer close(w.changes)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	for {
		var settle <-chan time.Time
		if at, ok := w.col.due(); ok {
			timer.Reset(time.Until(at))
			settle = timer.C
		}
		var out chan<- Batch
		batch, ok := w.col.ready()
		if ok {
			out = w.changes
		}

		select {
		case <-w.done:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			w.handle(ev)
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.handleError(err)
		case now := <-settle:
			w.col.settle(now)
		case out <- batch:
			w.col.delivered()
			w.log.Debug("watch: batch sent", "paths", len(batch.Paths))
		}
	}
}

// handle folds one fsnotify event into the watches and the open burst.
func (w *Watcher) handle(ev fsnotify.Event) {
	rel, ok := w.rel(ev.Name)
	if !ok {
		return
	}
	if rel == "." {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			w.report(ErrRootGone)
		}
		return
	}

	switch {
	case ev.Has(fsnotify.Create):
		// A folder created, or moved in from elsewhere, may already hold
		// files and folders; addTree finds them. Lstat failing means the
		// path is already gone again: judge it by its name.
		if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
			if !Ignored(rel, true) {
				w.addTree(rel, true)
			}
			return
		}
		w.changed(rel, true)

	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		if w.dirs[rel] {
			w.dropTree(rel)
			return
		}
		w.changed(rel, false)

	case ev.Has(fsnotify.Write):
		w.changed(rel, true)
	}
	// Chmod alone changes no content: an editor touching a file, an indexer
	// reading it.
}

// changed records a change to the file rel, which exists afterwards or not.
func (w *Watcher) changed(rel string, exists bool) {
	// Some systems also report writes to a folder; folders have their own
	// handling, whatever their names look like (node_modules/highlight.js).
	if w.dirs[rel] || Ignored(rel, false) {
		return
	}
	if exists {
		w.files[rel] = true
	} else {
		delete(w.files, rel)
	}
	w.col.add(rel, time.Now())
}

// addTree watches the folder rel and every folder beneath it that is not
// ignored. With report, every file found counts as changed: the folder is
// new, so its files are too. Each folder's watch is added before its entries
// are read, so a file created meanwhile is seen by one or the other.
func (w *Watcher) addTree(rel string, report bool) {
	start := filepath.Join(w.root, filepath.FromSlash(rel))
	walk := func(path string, d fs.DirEntry, err error) error {
		r, ok := w.rel(path)
		if !ok {
			return nil
		}
		if err != nil {
			// Removed while walking: the removal has its own event.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			w.report(fmt.Errorf("cannot read folder %s: %w", r, err))
			return nil
		}

		if d.IsDir() {
			if Ignored(r, true) {
				return filepath.SkipDir
			}
			if r == "." { // watched by New before the walk
				return nil
			}
			if err := w.fw.Add(path); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				w.report(fmt.Errorf("cannot watch folder %s: %w", r, watchErr(err)))
				return filepath.SkipDir
			}
			w.dirs[r] = true
			w.log.Debug("watch: folder added", "folder", r)
			return nil
		}

		// A link counts by its own name; what it points to is not watched.
		isFile := d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0
		if !isFile || Ignored(r, false) {
			return nil
		}
		w.files[r] = true
		if report {
			w.col.add(r, time.Now())
		}
		return nil
	}
	// WalkDir only fails when walk does, and walk reports instead.
	_ = filepath.WalkDir(start, walk)
}

// dropTree forgets the folder rel, which was removed or moved away, and
// everything beneath it; the files known there count as changed.
//
// Its watches are removed now, before the events that follow are read:
// if the folder was only renamed within the tree, the kernel would hand the
// old watch back when the new name is added, and fsnotify would then drop it
// when the old one ends.
func (w *Watcher) dropTree(rel string) {
	prefix := rel + "/"
	for d := range w.dirs {
		if d == rel || strings.HasPrefix(d, prefix) {
			// An error only says the watch has ended already.
			_ = w.fw.Remove(filepath.Join(w.root, filepath.FromSlash(d)))
			delete(w.dirs, d)
		}
	}
	now := time.Now()
	for f := range w.files {
		if strings.HasPrefix(f, prefix) {
			delete(w.files, f)
			w.col.add(f, now)
		}
	}
}

// handleError deals with an error from fsnotify. An overflow means events
// were lost, so the tree is walked again and every file counts as changed;
// anything else goes to the receiver.
func (w *Watcher) handleError(err error) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.report(fmt.Errorf("watching %s: %w", w.root, err))
		return
	}
	w.log.Warn("watch: events were lost; scanning the folder again", "folder", w.root)

	// Every file seen before or after counts: either may have changed.
	now := time.Now()
	for f := range w.files {
		w.col.add(f, now)
	}
	clear(w.files)

	// Adding a watch that exists is harmless, so walk with the old watches
	// in place, then remove those whose folders are gone.
	before := w.dirs
	w.dirs = map[string]bool{".": true}
	w.addTree(".", true)
	for d := range before {
		if !w.dirs[d] {
			_ = w.fw.Remove(filepath.Join(w.root, filepath.FromSlash(d)))
		}
	}
}

// report offers err to the receiver without waiting for it.
func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default:
		w.log.Warn("watch: error dropped, nobody is reading them", "err", err)
	}
}

// rel returns path relative to the watched folder, with forward slashes;
// ok is false for a path outside it.
func (w *Watcher) rel(path string) (rel string, ok bool) {
	r, err := filepath.Rel(w.root, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// watchErr marks the errors that mean the system will watch no more.
func watchErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
		return fmt.Errorf("%w: %w", ErrFolderLimit, err)
	}
	return err
}
