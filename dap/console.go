package dap

import (
	"strings"

	"github.com/dop251/goja"
)

// consoleTap wraps the program's console methods so that the debugger sees
// each line as the program prints it. The runtime's own method still runs
// first, so the log and the replay's comparison see nothing different.
var consoleTap = goja.MustCompile("dap-console.js", `(function (c, tell) {
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    const print = c[level];
    if (typeof print !== "function") continue;
    c[level] = function (...args) {
      const r = print.apply(this, args);
      tell(level, args);
      return r;
    };
  }
})`, true)

// tapConsole installs consoleTap on a fresh runtime; lines go to the
// current goal's console function, if it has one.
func (r *replayer) tapConsole(vm *goja.Runtime) {
	fn, err := vm.RunProgram(consoleTap)
	if err != nil {
		return
	}
	install, _ := goja.AssertFunction(fn)
	tell := func(level string, args []goja.Value) {
		if r.goal.console == nil {
			return
		}
		parts := make([]string, len(args))
		for i, a := range args {
			if s, ok := a.Export().(string); ok {
				parts[i] = s
				continue
			}
			parts[i] = preview(a, 2)
		}
		r.goal.console(level, strings.Join(parts, " ")+"\n")
	}
	_, _ = install(goja.Undefined(), vm.Get("console"), vm.ToValue(tell))
}
