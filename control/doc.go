// Package control is the channel between a live `membrane-dev run` and the
// other commands for the same program: an HTTP server on a unix socket in
// DIR/.membrane/ that only the directory's owner can reach.
package control
