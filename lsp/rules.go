package lsp

import (
	"fmt"

	"github.com/robfig/cron/v3"
)

// finding is a problem found in one file, before it becomes a diagnostic.
type finding struct {
	at     span
	source string
	code   string
	text   string
}

// Sources of diagnostics, so a user can tell who complains.
const (
	sourceBuild = "esbuild"          // syntax and resolve errors from bundling
	sourceRules = "membrane-dev"     // the runtime's rules and refused imports
	sourceRun   = "membrane-dev run" // the last build error of a live run
	sourceLog   = "membrane-dev log" // failures recorded in the log
)

// cronParser reads $cron expressions as the runtime does: six fields,
// seconds first.
var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom |
	cron.Month | cron.Dow)

// checkRules applies the runtime's rules that can be checked in one file.
// actionsKnown is false when the entry file cannot be read, and then
// root.NAME is not checked.
func checkRules(fi *fileInfo, acts map[string]bool, actionsKnown bool) []finding {
	var out []finding
	refAt := map[int]*ref{}
	for i := range fi.refs {
		refAt[fi.refs[i].at.start] = &fi.refs[i]
	}

	for _, m := range fi.members {
		if m.left < 0 {
			continue
		}
		left := fi.refs[m.left]
		switch {
		case actionsKnown && fi.isMembrane(left, "root") && !acts[m.name]:
			out = append(out, finding{at: m.at, source: sourceRules, code: "unknown-action",
				text: fmt.Sprintf("root.%s names no action of this program: "+
					"export a function %s from the entry file, or add it to Root", m.name, m.name)})
		case left.name == "process" && left.d == nil && m.name == "exit":
			out = append(out, finding{at: span{left.at.start, m.at.end}, source: sourceRules,
				code: "refused-global", text: "process.exit is not available: a program " +
					"is not a process; return or throw from the action instead"})
		}
	}

	for _, c := range fi.calls {
		switch c.callee {
		case "require":
			if r := refAt[c.calleeAt.start]; r != nil && r.d == nil {
				out = append(out, finding{at: c.calleeAt, source: sourceRules,
					code: "refused-global", text: "require is not available: " +
						"use an import statement instead"})
			}
		case "$cron":
			if !c.hasStrArg || c.argAt.end == 0 {
				continue
			}
			if _, err := cronParser.Parse(c.arg); err != nil {
				out = append(out, finding{at: c.argAt, source: sourceRules, code: "bad-cron",
					text: fmt.Sprintf("$cron expression %q does not parse: %v "+
						"(six fields, seconds first: \"s m h dom mon dow\")", c.arg, err)})
			}
		}
	}

	for _, a := range fi.awaits {
		out = append(out, finding{at: a, source: sourceRules, code: "refused-await",
			text: "top-level await is refused: the module must load without waiting; " +
				"move the await into an action"})
	}
	return out
}

// isMembrane says whether a reference is the name imported from "membrane"
// as export.
func (fi *fileInfo) isMembrane(r ref, export string) bool {
	if r.d == nil || r.d.kind != declImport {
		return false
	}
	b, ok := fi.imports[r.name]
	return ok && b.spec == "membrane" && b.name == export
}
