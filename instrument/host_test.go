package instrument

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/dop251/goja"
)

const loopProgram = `function work(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += i;
  }
  return sum;
}
module.exports = { work };
`

func loadLoop(t *testing.T) (*Result, *Host, func(int) int64) {
	t.Helper()
	res, vm, h := hosted(t, loopProgram)
	exports := wrap(t, vm, res.Code).(*goja.Object)
	work, _ := goja.AssertFunction(exports.Get("work"))
	return res, h, func(n int) int64 {
		v, err := work(goja.Undefined(), vm.ToValue(n))
		if err != nil {
			t.Fatal(err)
		}
		return v.ToInteger()
	}
}

func TestStepCounterAndTarget(t *testing.T) {
	_, h, work := loadLoop(t)

	h.ResetSteps()
	work(3)
	// entry, let sum, for, 3 x sum +=, return
	if got := h.Steps(); got != 7 {
		t.Fatalf("steps after work(3) = %d, want 7", got)
	}

	h.ResetSteps()
	var stops []string
	h.OnStop(func(s Stop) {
		stops = append(stops, s.Site.Kind)
		sc, err := s.Scopes()
		if err != nil {
			t.Fatal(err)
		}
		if s.Step != 5 || render(sc.Locals) != "i=1 n=3 sum=0" {
			t.Errorf("stop at step %d with %s, want step 5 with i=1 n=3 sum=0",
				s.Step, render(sc.Locals))
		}
	})
	h.SetTarget(5) // the second "sum += i"
	if got := work(3); got != 3 {
		t.Fatalf("work(3) = %d", got)
	}
	if len(stops) != 1 {
		t.Fatalf("stops = %v, want exactly one (a target is reached once)", stops)
	}
}

func TestResetStepsInsideStop(t *testing.T) {
	_, h, work := loadLoop(t)
	h.ResetSteps()
	var steps []uint64
	h.OnStop(func(s Stop) {
		steps = append(steps, s.Step)
		h.ResetSteps()
		h.SetTarget(2)
	})
	h.SetTarget(2)
	work(3)
	// Each stop restarts the count, so every second probe stops.
	if got := len(steps); got != 3 {
		t.Fatalf("stopped %d times (%v), want 3", got, steps)
	}
	for _, s := range steps {
		if s != 2 {
			t.Errorf("stopped at step %d, want 2", s)
		}
	}
}

func TestInvocationIDs(t *testing.T) {
	src := `const log = [];
async function task(name) {
  log.push(name);
  await null;
  log.push(name);
}
task("a");
task("b");
module.exports = log;`
	res, vm, h := hosted(t, src)
	var pushes []string
	invs := map[int64]bool{}
	h.SetStepping(true)
	h.OnStop(func(s Stop) {
		if s.Site.Line != 3 && s.Site.Line != 5 {
			return
		}
		sc, err := s.Scopes()
		if err != nil {
			t.Fatal(err)
		}
		invs[s.Invocation] = true
		pushes = append(pushes, sc.Locals[0].Value.String())
	})
	wrap(t, vm, res.Code)
	if got := strings.Join(pushes, ""); got != "abab" {
		t.Errorf("order of pushes %q, want abab", got)
	}
	if len(invs) != 2 {
		t.Errorf("%d invocation ids, want 2: one per call, the same after await", len(invs))
	}
}

func TestInvocationIDStaysAcrossAwait(t *testing.T) {
	src := `async function task(name) {
  const first = name;
  await null;
  return first;
}
task("a"); task("b");`
	res, vm, h := hosted(t, src)
	byName := map[string][]int64{}
	h.SetStepping(true)
	h.OnStop(func(s Stop) {
		if s.Site.Func < 0 {
			return
		}
		sc, _ := s.Scopes()
		name := sc.Locals[0].Value.String()
		byName[name] = append(byName[name], s.Invocation)
	})
	wrap(t, vm, res.Code)
	for name, ids := range byName {
		for _, id := range ids {
			if id != ids[0] {
				t.Errorf("task(%q) ran under invocations %v, want one id", name, ids)
				break
			}
		}
	}
	if byName["a"][0] == byName["b"][0] {
		t.Errorf("both calls share invocation %d", byName["a"][0])
	}
}

func TestRequestPauseFromAnotherGoroutine(t *testing.T) {
	src := `let n = 0;
while (n < 1e9) { n++; }
module.exports = n;`
	res, vm, h := hosted(t, src)
	var once sync.Once
	paused := make(chan Stop, 1)
	h.OnStop(func(s Stop) {
		once.Do(func() { paused <- s })
		panic(vm.NewGoError(errStopTest))
	})
	go h.RequestPause()
	fnv, err := vm.RunScript("bundle.js", "(function(module){\n"+res.Code+"\n})")
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := goja.AssertFunction(fnv)
	_, err = fn(goja.Undefined(), vm.NewObject())
	if err == nil || !strings.Contains(err.Error(), errStopTest.Error()) {
		t.Fatalf("run ended with %v, want it stopped by the pause", err)
	}
	s := <-paused
	if !s.Reason.Has(ReasonPause) || s.Site.Line != 2 {
		t.Errorf("paused at line %d for %v, want line 2 for a pause", s.Site.Line, s.Reason)
	}
}

var errStopTest = errorString("stopped by the test")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestToBundle(t *testing.T) {
	src := "const a = 1;\nfunction f() { const π = 'é'; if (a) throw new Error('x') }\nf();\n"
	res, vm, _ := hosted(t, src)
	_, err := vm.RunScript("bundle.js", res.Code)
	var ex *goja.Exception
	if !errors.As(err, &ex) || len(ex.Stack()) == 0 {
		t.Fatalf("run ended with %v, want an exception with a stack", err)
	}
	p := ex.Stack()[0].Position()
	line, col := res.ToBundle(p.Line, p.Column)
	// goja reports a throw at its argument, new Error(...): a UTF-16 column,
	// in which π and é count one each.
	want := strings.Index(strings.Split(src, "\n")[1], "new Error")
	want -= len("π") - 1 + len("é") - 1
	if line != 2 || col != want {
		t.Errorf("ToBundle gave %d:%d, want 2:%d", line, col, want)
	}
	// Sites map to themselves: statement starts are where probes go.
	for _, s := range res.Sites {
		if s.Kind != KindStmt {
			continue
		}
		line := strings.Split(src, "\n")[s.Line-1]
		if s.Col > len(line) {
			t.Errorf("site %d column %d beyond line %q", s.ID, s.Col, line)
		}
	}
}
