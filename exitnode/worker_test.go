package exitnode

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// workerScript is a Python worker: one request a line in, one a line out.
// It misbehaves on purpose for some paths.
func workerScript(version string) string {
	return "#!" + pythonPath() + `
import json, os, sys, time
n = 0
for line in sys.stdin:
    n += 1
    req = json.loads(line)
    if "/slow" in req["url"]:
        time.sleep(10)
    if "/crash" in req["url"]:
        sys.exit(4)
    if "/garbage" in req["url"]:
        print("not json", flush=True)
        continue
    req["headers"]["Authorization"] = ["Bearer " + os.environ["UPSTREAM_KEY"]]
    req["headers"]["X-Seq"] = [str(n)]
    req["headers"]["X-Pid"] = [str(os.getpid())]
    req["headers"]["X-Version"] = ["` + version + `"]
    req["headers"]["X-Worker"] = [os.environ.get("` + WorkerEnv + `", "")]
    print(json.dumps(req), flush=True)
`
}

func TestWorkerTransformer(t *testing.T) {
	t.Setenv("UPSTREAM_KEY", secretKey)
	up := newUpstream(t, false)
	path := script(t, "worker.py", workerScript("one"))
	n := newNode(t, Config{Transformer: path, TransformerWorker: true,
		TransformerTimeout: 2 * time.Second})
	rt := n.client().Transport

	var pids []string
	for i := 1; i <= 3; i++ {
		status, _, body := get(t, rt, "GET", up.url("/ok"), "")
		if status != 200 || strings.Contains(body, secretKey) {
			t.Fatalf("request %d: status %d %s", i, status, body)
		}
		h := up.last().Header
		if h.Get("Authorization") != "Bearer "+secretKey || h.Get("X-Worker") != "1" {
			t.Fatalf("upstream saw %v", h)
		}
		pids = append(pids, h.Get("X-Pid"))
	}
	if pids[0] != pids[1] || pids[1] != pids[2] {
		t.Errorf("one request at a time should reuse one worker, got pids %v", pids)
	}

	failures := []struct{ path, want string }{
		{"/crash", "worker exited"},
		{"/garbage", "not a request object"},
		{"/slow", "did not answer within"},
	}
	for _, f := range failures {
		before := up.count()
		status, h, body := get(t, rt, "GET", up.url(f.path), "")
		if status != http.StatusBadGateway || h.Get(ErrorHeader) != "transformer-failed" ||
			!strings.Contains(body, f.want) {
			t.Errorf("%s: status %d: %s", f.path, status, body)
		}
		if up.count() != before {
			t.Errorf("%s: the request went upstream", f.path)
		}
		// The next request gets a working worker again.
		if status, _, body := get(t, rt, "GET", up.url("/ok"), ""); status != 200 {
			t.Errorf("after %s: status %d %s", f.path, status, body)
		}
	}

	rewrite(t, path, workerScript("two"))
	get(t, rt, "GET", up.url("/ok"), "")
	if v := up.last().Header.Get("X-Version"); v != "two" {
		t.Errorf("after the file changed the worker sent version %q", v)
	}
	if strings.Contains(n.log.String(), secretKey) {
		t.Error("the credential reached the access log")
	}
}
