// Package bundle builds a program directory into one script goja can run,
// with esbuild, keeping the source map and the original sources. It refuses
// what would make a run unrepeatable (Node built-ins, native packages,
// top-level await) and names where it is.
package bundle
