package runtime

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/membrane-dev/membrane-dev/wal"
)

const globalsProgram = `import { state } from "membrane";
export function globals() {
  const u = new URL("https://example.com/a/b?x=1&y=two#frag");
  u.searchParams.append("z", "3");
  const bytes = new TextEncoder().encode("héllo");
  const clone = structuredClone({ m: new Map([["k", new Set([1, 2])]]), d: new Date(0), n: 10n });
  const h = new Headers({ "Content-Type": "text/plain" });
  h.append("x-a", "1");
  return {
    url: u.toString(),
    params: Object.fromEntries(new URLSearchParams("a=1&b=2")),
    bytes: bytes.length,
    text: new TextDecoder().decode(bytes),
    b64: btoa("hi"),
    unb64: atob("aGk="),
    cloneMap: clone.m.get("k").has(2),
    cloneDate: clone.d.getTime(),
    cloneBig: typeof clone.n,
    hours: new Date(0).getHours(),
    tz: new Date(0).toString(),
    header: h.get("content-type") + ";" + h.get("X-A"),
    ok: new Response("x", { status: 201 }).ok,
  };
}
export function random() {
  return { r: Math.random(), u: crypto.randomUUID(), v: Array.from(crypto.getRandomValues(new Uint8Array(4))), now: Date.now() };
}
export function keep() {
  class Point { constructor(public x: number, public y: number) {} }
  const cyc: any = { name: "loop" };
  cyc.self = cyc;
  state.rich = {
    map: new Map<any, any>([["a", 1], [2, { deep: [1, 2] }]]),
    set: new Set(["x", "y"]),
    date: new Date("2020-01-02T03:04:05Z"),
    big: 12345678901234567890n,
    typed: new Uint16Array([1, 2, 65535]),
    cyc,
    undef: undefined,
    nan: NaN,
  };
  return "kept";
}
export function check() {
  const r = state.rich;
  return {
    map: r.map.get(2).deep[1],
    set: r.set.has("y"),
    date: r.date.toISOString(),
    big: (r.big + 1n).toString(),
    typed: r.typed instanceof Uint16Array && r.typed[2],
    cyc: r.cyc.self === r.cyc,
    undef: "undef" in r && r.undef === undefined,
    nan: Number.isNaN(r.nan),
  };
}
`

func TestWebGlobals(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": globalsProgram})
	var got map[string]any
	if err := json.Unmarshal([]byte(result(t, f.call("globals", `{}`))), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"url": "https://example.com/a/b?x=1&y=two&z=3#frag", "bytes": 6.0, "text": "héllo",
		"b64": "aGk=", "unb64": "hi", "cloneMap": true, "cloneDate": 0.0, "cloneBig": "bigint",
		"hours": 0.0, "tz": "Thu Jan 01 1970 00:00:00 GMT+0000 (UTC)", "header": "text/plain;1", "ok": true,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
}

// TestSameLogSameOutputs applies one log to two fresh Machines: every output
// is the same, byte for byte, randomness and time included.
func TestSameLogSameOutputs(t *testing.T) {
	a := newFixture(t, map[string]string{"index.ts": globalsProgram})
	b := newFixture(t, map[string]string{"index.ts": globalsProgram})
	for i := 0; i < 3; i++ {
		ra, rb := result(t, a.call("random", `{}`)), result(t, b.call("random", `{}`))
		if ra != rb {
			t.Fatalf("two replays of one log differ:\n%s\n%s", ra, rb)
		}
		if i == 0 && !strings.Contains(ra, `"now":1700000002000`) {
			t.Errorf("Date.now is not the event's time: %s", ra)
		}
	}
	r1 := result(t, a.call("random", `{}`))
	r2 := result(t, a.call("random", `{}`))
	if r1 == r2 {
		t.Errorf("two events drew the same numbers: %s", r1)
	}
}

// TestCheckpointKeepsRichState takes a checkpoint and checks that what
// state holds survives the trip into a fresh heap, as a restart from that
// checkpoint would see it.
func TestCheckpointKeepsRichState(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": globalsProgram})
	f.call("keep", `{}`)
	before := result(t, f.call("check", `{}`))
	outs := f.apply(KindCheckpoint, DeployData{Code: f.cv.Hash})
	if _, ok := find(outs, KindSnapshot); !ok {
		t.Fatalf("no snapshot among %s", kinds(outs))
	}
	after := result(t, f.call("check", `{}`))
	if before != after {
		t.Fatalf("state changed across the checkpoint:\nbefore %s\nafter  %s", before, after)
	}
	want := `{"map":2,"set":true,"date":"2020-01-02T03:04:05.000Z","big":"12345678901234567891",` +
		`"typed":65535,"cyc":true,"undef":true,"nan":true}`
	if after != want {
		t.Fatalf("got %s, want %s", after, want)
	}

	// A restart from that snapshot gives the same heap.
	snap := f.m.LastSnapshot()
	m2, _, err := Restore(f.m.cfg, snap, wal.Record{Seq: f.seq, Kind: KindCheckpoint, Time: f.now})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m2
	if got := result(t, f.call("check", `{}`)); got != want {
		t.Fatalf("after a restore: %s", got)
	}
}

const timersProgram = `import { state, root, sleep, cancel } from "membrane";
state.log ??= [];
export async function nap({ s }: { s: number }) {
  state.log.push("before");
  await sleep(s);
  state.log.push("after");
  return state.log;
}
export function schedule() { return root.tick({ n: 7 }).$invokeIn(60); }
export function unschedule({ id }: { id: number }) { return cancel(id); }
export function tick({ n }: { n: number }) { state.log.push("tick " + n); return n; }
export function badCron() { return root.tick({}).$cron("every day"); }
`

// TestTimersOnTheProgramClock drives time through records: nothing sleeps.
func TestTimersOnTheProgramClock(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": timersProgram})
	outs := f.call("nap", `{"s": 3600}`)
	set, ok := find(outs, KindTimerSet)
	if !ok {
		t.Fatalf("no timer.set among %s", kinds(outs))
	}
	var td TimerData
	_ = json.Unmarshal(set.Data, &td)
	if td.Due != f.now+3_600_000 {
		t.Errorf("due %d, want an hour after %d", td.Due, f.now)
	}
	if busy := f.m.Busy(); len(busy) != 2 || !strings.Contains(busy[1], "the action nap called at event 2") {
		t.Errorf("busy %v, want the timer and the action nap", f.m.Busy())
	}
	outs = f.apply(KindTimer, TimerData{ID: td.ID})
	if got := result(t, outs); got != `["before","after"]` {
		t.Fatalf("the sleep resumed with %s", got)
	}
	// A timer that fires twice (a duplicate firing) does nothing the second time.
	if outs := f.apply(KindTimer, TimerData{ID: td.ID}); len(outs) != 0 {
		t.Fatalf("a second firing did %s", kinds(outs))
	}

	id := result(t, f.call("schedule", `{}`))
	if len(f.m.Schedules()) != 1 {
		t.Fatalf("schedules: %v", f.m.Schedules())
	}
	if got := result(t, f.call("unschedule", `{"id": `+id+`}`)); got != "true" {
		t.Fatalf("cancel said %s", got)
	}
	if len(f.m.Schedules()) != 0 {
		t.Fatalf("still scheduled: %v", f.m.Schedules())
	}

	outs = f.call("badCron", `{}`)
	e, ok := find(outs, KindError)
	if !ok || !strings.Contains(string(e.Data), `the cron expression \"every day\" does not parse`) {
		t.Fatalf("got %s", kinds(outs))
	}
}
