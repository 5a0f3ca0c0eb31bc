// Package dap serves the Debug Adapter Protocol: time-travel debugging of a
// program's log.
package dap
