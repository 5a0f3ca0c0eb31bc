package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startRun starts `membrane-dev run DIR` as a real process and waits until
// it serves.
func startRun(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "run", dir, "--addr", addr, "--no-watch")
	cmd.Env = append(os.Environ(), "MEMBRANE_DEV_TEST_MAIN=1")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "serving ") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("run did not start within 60 s")
	}
	return cmd, "http://" + addr
}

// TestKillUnderLoadLosesNoAcknowledgedCall kills the run with SIGKILL while
// 16 clients keep calling, then restarts it: every count a client was
// answered must still be there.
func TestKillUnderLoadLosesNoAcknowledgedCall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := t.TempDir()
	src := `import { state } from "membrane";
state.count ??= 0;
let calls = 0;
export function endpoint({ path }: { path: string }) {
  if (path === "/inc") { state.count++; calls++; }
  return JSON.stringify({ count: state.count, calls });
}
`
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, base := startRun(t, dir)

	var mu sync.Mutex
	acked := map[int]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.Get(base + "/inc")
				if err != nil {
					return // the process is gone
				}
				var v struct{ Count int }
				err = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 {
					mu.Lock()
					acked[v.Count] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Let the load build up, then kill in the middle of it.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cancel()
	wg.Wait()

	maxAcked := 0
	for c := range acked {
		maxAcked = max(maxAcked, c)
	}
	if len(acked) < 100 {
		t.Fatalf("only %d calls were answered before the kill: the load never built up", len(acked))
	}

	cmd, base = startRun(t, dir)
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	resp, err := http.Get(base + "/peek")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var after struct{ Count, Calls int }
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if after.Count < maxAcked {
		t.Fatalf("after the restart the count is %d, but a client was answered %d: an acknowledged call was lost",
			after.Count, maxAcked)
	}
	if after.Calls != after.Count {
		t.Fatalf("the module variable says %d calls, state says %d", after.Calls, after.Count)
	}
	fmt.Printf("kill -9 under load: %d calls answered, highest %d, %d after the restart\n",
		len(acked), maxAcked, after.Count)
}
