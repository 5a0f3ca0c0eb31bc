// Package lsp serves the Language Server Protocol for program code.
package lsp
