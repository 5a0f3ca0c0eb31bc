// Package lsp serves the Language Server Protocol for program code: the
// files of one or more membrane-dev programs open in an editor.
//
// It owns what only membrane-dev knows about a program and leaves types to
// the TypeScript server where an editor runs one:
//
//   - diagnostics, pushed and debounced: syntax and bundling errors and
//     refused imports (from package bundle), the runtime's own rules
//     (root.NAME naming no action, a $cron expression that does not parse,
//     require, process.exit, top-level await), the last build error of a live
//     run and, for each action, its most recent recorded failure at the line
//     where it was thrown;
//   - completion, hover and signature help for the "membrane" module and the
//     runtime globals, read from membrane.d.ts (see [Typings]), and `state.`
//     completion from the program's state as it is now;
//   - navigation: definition and references across the program's files,
//     document symbols with the actions first, workspace symbols;
//   - code lenses and inlay hints on each exported action, from the log.
//
// # Beside the TypeScript server
//
// The initialization option {"typescriptServer": true} turns off generic
// completion (globals and program names) and syntax-error diagnostics, which
// that server already gives. {"inlayHints": false} turns off the inlay hints;
// the same key under "membrane" in workspace/didChangeConfiguration toggles
// them later.
//
// # Commands
//
// Code lenses carry these commands; editor integrations implement the ones
// the server does not:
//
//   - "membrane.run" [dir, action, args?]: call the action. The server runs it
//     through workspace/executeCommand and returns the result as JSON.
//   - "membrane.debug" [dir, action, seq]: start a debug session that time
//     travels to event seq, the action's last call. Editor side.
//   - "membrane.replay" [dir]: replay the program's log. Editor side.
//   - "membrane.log" [dir, action]: show the action's history. Editor side;
//     it is the command of the lens that shows the counts.
//
// # Concurrency
//
// The jsonrpc2 read loop runs notifications in order on its own goroutine;
// requests run concurrently. Documents and per-file analyses sit behind one
// mutex in the workspace. Diagnostics are computed on a timer per program,
// after changes have been quiet for a short while, and published from there.
// Handlers never panic the connection: a panic or an error in a notification
// is logged and dropped, and one in a request becomes an error reply.
//
// What the log knows (calls, failures, results, the state's fields) comes
// through the [Facts] interface; with no Facts those features stay quiet.
// The package never opens a log nor runs program code itself, and it writes
// no file but membrane.d.ts, when [WriteTypings] is called.
package lsp
