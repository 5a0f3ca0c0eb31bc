package watch

import "errors"

// ErrNotDir is returned by New when the path to watch is not a folder.
var ErrNotDir = errors.New("not a folder")

// ErrRootGone is sent on Errors when the watched folder itself is removed or
// renamed. Nothing more will be seen; the caller should stop watching.
var ErrRootGone = errors.New("the watched folder was removed or renamed")

// ErrFolderLimit wraps the error sent on Errors when the system will not
// watch one more folder (on Linux, fs.inotify.max_user_watches is reached).
// Changes under that folder go unseen until the limit is raised.
var ErrFolderLimit = errors.New("the system's limit on watched folders is reached")
