package runtime

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/membrane-dev/membrane-dev/bundle"
)

const styleProgram = `import { state, sleep } from "membrane";
export const Root = {
  hello({ who }: { who: string }) { return "hello " + who; },
  clash() { return "from Root"; },
};
export function clash() { return "top-level wins"; }

export async function weather({ url }: { url: string }) {
  const res = await fetch(url, { method: "POST", body: "q" });
  return { status: res.status, ok: res.ok, type: res.headers.get("content-type"), body: await res.json() };
}

export async function aborted({ url }: { url: string }) {
  const c = new AbortController();
  const p = fetch(url, { signal: c.signal });
  c.abort();
  try { await p; return "no"; } catch (e: any) { return e.name; }
}

export function endpoint({ path }: { path: string }) {
  if (path === "/obj") return { status: 201, headers: { "x-a": "1" }, body: "made" };
  if (path === "/res") return new Response("resp", { status: 202 });
  if (path === "/json") return JSON.stringify({ status: 418, body: "teapot" });
  return "plain";
}

export async function slow() {
  await sleep(10);
  return "old code finished";
}
`

func TestRootStyleAndClash(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": styleProgram})
	if got := result(t, f.call("hello", `{"who": "root"}`)); got != `"hello root"` {
		t.Errorf("Root method: %s", got)
	}
	if got := result(t, f.call("clash", `{}`)); got != `"top-level wins"` {
		t.Errorf("clash: %s", got)
	}
}

func TestFetchThroughRecords(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": styleProgram})
	outs := f.call("weather", `{"url": "https://api.example.com/w"}`)
	o, ok := find(outs, KindFetch)
	if !ok {
		t.Fatalf("no fetch among %s", kinds(outs))
	}
	var req FetchData
	_ = json.Unmarshal(o.Data, &req)
	if req.Method != "POST" || req.URL != "https://api.example.com/w" || string(req.Body) != "q" {
		t.Fatalf("request %+v", req)
	}
	var key string
	for _, h := range req.Headers {
		if h[0] == "idempotency-key" {
			key = h[1]
		}
	}
	if len(key) != 32 {
		t.Errorf("a POST has no Idempotency-Key: %v", req.Headers)
	}
	outs = f.apply(KindFetchResponse, FetchResponseData{ID: req.ID, Status: 200,
		Headers: [][2]string{{"content-type", "application/json"}}, Body: []byte(`{"c":21}`)})
	if got := result(t, outs); got != `{"status":200,"ok":true,"type":"application/json","body":{"c":21}}` {
		t.Fatalf("got %s", got)
	}

	outs = f.call("aborted", `{"url": "https://api.example.com/w"}`)
	if _, ok := find(outs, KindFetchAbort); !ok {
		t.Errorf("no fetch.abort among %s", kinds(outs))
	}
	if got := result(t, outs); got != `"AbortError"` {
		t.Errorf("got %s", got)
	}
	if len(f.m.PendingFetches()) != 0 {
		t.Errorf("an aborted fetch is still pending: %v", f.m.PendingFetches())
	}
}

func TestEndpointAnswers(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": styleProgram})
	for path, want := range map[string]string{
		"/obj":  `"status":201,"headers":[["x-a","1"]],"body":"made"`,
		"/res":  `"status":202`,
		"/json": `"status":418,"headers":[],"body":"teapot"`,
		"/":     `"status":200,"headers":[],"body":"plain"`,
	} {
		outs := f.apply(KindEndpoint, EndpointData{Method: "GET", Path: path})
		o, ok := find(outs, KindResponse)
		if !ok || !strings.Contains(string(o.Data), want) {
			t.Errorf("%s: got %s, want %s", path, kinds(outs), want)
		}
	}
}

// TestOldCodeFinishesInOldCode deploys new code while an action of the old
// code sleeps: the sleep ends in the old code, and new calls use the new.
func TestOldCodeFinishesInOldCode(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": styleProgram})
	outs := f.call("slow", `{}`)
	set, _ := find(outs, KindTimerSet)
	var td TimerData
	_ = json.Unmarshal(set.Data, &td)

	dir := t.TempDir()
	newer := strings.ReplaceAll(styleProgram, "old code finished", "new code")
	writeFile(t, dir, "index.ts", strings.ReplaceAll(newer, `"hello " + who`, `"howdy " + who`))
	p, err := bundle.Build(dir, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cv := CodeVersionOf(p)
	if err := f.m.AddCode(cv); err != nil {
		t.Fatal(err)
	}
	f.apply(KindDeploy, DeployData{Code: cv.Hash})
	if got := result(t, f.call("hello", `{"who": "x"}`)); got != `"howdy x"` {
		t.Errorf("after the deploy: %s", got)
	}
	if got := result(t, f.apply(KindTimer, TimerData{ID: td.ID})); got != `"old code finished"` {
		t.Errorf("the old sleep finished with %s", got)
	}
}
