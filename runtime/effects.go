package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/membrane-dev/membrane-dev/wal"
)

// Limits of the program's fetch, as the product contract gives them.
const (
	FetchTimeout      = 30 * time.Second
	MaxFetchBody      = 32 << 20
	maxFetchRedirects = 10
)

// release lets a durable batch's effects out, in the order the events ran.
func (r *Runner) release(fx effects) {
	for _, c := range fx.console {
		if r.cfg.Console != nil {
			r.cfg.Console(c.Level, c.Text)
		}
	}
	for _, p := range fx.replies {
		p.ch <- p.reply
	}
	for _, id := range fx.aborts {
		r.stopFetch(id)
	}
	for _, f := range fx.fetches {
		r.startFetch(f)
	}
	for _, id := range fx.clears {
		r.disarm(id)
	}
	for _, t := range fx.timers {
		data, _ := json.Marshal(TimerData{ID: t.ID})
		r.arm(t.ID, t.Due, request{kind: KindTimer, data: data})
	}
	for _, id := range fx.unscheds {
		r.disarm(id)
	}
	for _, s := range fx.scheds {
		data, _ := json.Marshal(ScheduleData{ID: s.ID})
		r.arm(s.ID, s.Due, request{kind: KindSchedule, data: data})
	}
	for _, fn := range fx.after {
		fn()
	}
}

// arm fires req at due on the wall clock; one already late fires at once.
// Ids of timers and schedules share one counter, so one map holds both.
func (r *Runner) arm(id uint64, due int64, req request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.armed[id]; ok {
		old.Stop()
	}
	wait := time.Until(time.UnixMilli(due))
	r.armed[id] = time.AfterFunc(max(wait, 0), func() {
		r.mu.Lock()
		delete(r.armed, id)
		r.mu.Unlock()
		_ = r.enqueue(req) // closed: it stays in the log and fires at the next start
	})
}

func (r *Runner) disarm(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.armed[id]; ok {
		t.Stop()
		delete(r.armed, id)
	}
}

func newFetchClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxFetchRedirects {
				return fmt.Errorf("stopped after %d redirects", maxFetchRedirects)
			}
			return nil
		},
	}
}

func (r *Runner) startFetch(f FetchData) {
	ctx, cancel := context.WithTimeout(r.ctx, FetchTimeout)
	r.mu.Lock()
	r.fetching[f.ID] = cancel
	r.mu.Unlock()
	go func() {
		defer cancel()
		resp := r.fetch(ctx, f)
		r.mu.Lock()
		_, live := r.fetching[f.ID]
		delete(r.fetching, f.ID)
		r.mu.Unlock()
		if !live || r.ctx.Err() != nil {
			return // aborted, or shutting down: not logged, so sent again at the next start
		}
		kind := KindFetchResponse
		if resp.Error != "" {
			kind = KindFetchError
		}
		data, _ := json.Marshal(resp)
		_ = r.enqueue(request{kind: kind, data: data})
	}()
}

func (r *Runner) stopFetch(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cancel, ok := r.fetching[id]; ok {
		cancel()
		delete(r.fetching, id)
	}
}

// fetch performs one request for the program and reads the whole response.
func (r *Runner) fetch(ctx context.Context, f FetchData) FetchResponseData {
	fail := func(format string, args ...any) FetchResponseData {
		return FetchResponseData{ID: f.ID, Error: fmt.Sprintf(format, args...)}
	}
	var body io.Reader
	if f.Body != nil {
		body = strings.NewReader(string(f.Body))
	}
	req, err := http.NewRequestWithContext(ctx, f.Method, f.URL, body)
	if err != nil {
		return fail("%v", err)
	}
	for _, h := range f.Headers {
		req.Header.Add(h[0], h[1])
	}
	client := r.client
	switch f.Redirect {
	case "manual", "error":
		c := *r.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error {
			if f.Redirect == "error" {
				return errors.New("the response is a redirect and redirect is \"error\"")
			}
			return http.ErrUseLastResponse
		}
		client = &c
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail("no response within %s", FetchTimeout)
		}
		return fail("%s", strings.TrimPrefix(err.Error(), f.Method[:1]+strings.ToLower(f.Method[1:])+" "))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxFetchBody+1))
	if err != nil {
		return fail("reading the response: %v", err)
	}
	if len(b) > MaxFetchBody {
		return fail("the response is over %d MiB", MaxFetchBody>>20)
	}
	out := FetchResponseData{ID: f.ID, Status: resp.StatusCode,
		StatusText: strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode))),
		URL:        resp.Request.URL.String(), Body: b}
	for name, vals := range resp.Header {
		for _, v := range vals {
			out.Headers = append(out.Headers, [2]string{strings.ToLower(name), v})
		}
	}
	sortPairs(out.Headers)
	return out
}

func sortPairs(p [][2]string) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && (p[j][0] < p[j-1][0]); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// rollback handles an event that ran past the deadline. Its records are
// dropped, so what it half did never happened; the Machine, whose heap it
// left half-changed, is rebuilt from the log. A call fails with a clear
// error. An event that is not a call cannot simply vanish (its timer or
// response would hang), so it is logged again marked as rolled back, and
// the Machine consumes it without running program code.
func (r *Runner) rollback(req request, rec wal.Record, b *batch) {
	what := rec.Kind
	var call CallData
	if rec.Kind == KindCall {
		_ = json.Unmarshal(rec.Data, &call)
		what = "the action " + call.Action
	}
	msg := fmt.Sprintf("%s ran past the deadline of %s and was rolled back", what, r.cfg.Deadline)
	r.cfg.Logger.Warn("membrane-dev: runaway event rolled back", "seq", rec.Seq, "kind", rec.Kind)

	// Make what came before durable, then rebuild from the log.
	r.flush(b)
	m, err := r.cfg.Rebuild()
	if err != nil {
		r.fail(fmt.Errorf("rebuilding after a runaway event: %w", err))
		r.replyNow(req, Reply{Err: errors.New(msg)})
		return
	}
	r.m = m

	note, _ := json.Marshal(map[string]string{"kind": rec.Kind, "message": msg})
	b.recs = append(b.recs, wal.Record{Seq: r.nextSeq, Kind: KindRunaway, Time: rec.Time, Data: note})
	r.nextSeq++

	switch rec.Kind {
	case KindCall, KindDeploy, KindCheckpoint, KindUnschedule:
		r.replyNow(req, Reply{Err: &RunawayError{Message: msg}})
		return
	}
	var data map[string]any
	_ = json.Unmarshal(rec.Data, &data)
	data["rolledBack"] = msg
	raw, _ := json.Marshal(data)
	req.data = raw
	r.handle(req, b)
}

// RunawayError is an action stopped at the deadline and rolled back.
type RunawayError struct{ Message string }

func (e *RunawayError) Error() string { return e.Message }
func (e *RunawayError) Unwrap() error { return ErrRunaway }
