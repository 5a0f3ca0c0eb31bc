package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// callRequest and callReply are the wire form of `call` through a live run.
type callRequest struct {
	Action string          `json:"action"`
	Args   json.RawMessage `json:"args"`
}

type callReply struct {
	Seq   uint64              `json:"seq"`
	Value json.RawMessage     `json:"value,omitempty"`
	Error *runtime.ResultData `json:"error,omitempty"`
}

// statusReply is what a live run says of itself.
type statusReply struct {
	PID        int              `json:"pid"`
	Code       string           `json:"code"`
	LastSeq    uint64           `json:"lastSeq"`
	BuildError *bundle.Message  `json:"buildError,omitempty"`
	State      json.RawMessage  `json:"state,omitempty"`
	Timers     []timerListEntry `json:"timers,omitempty"`
}

var buildErrMu sync.Mutex

func (p *live) setBuildError(err error) {
	buildErrMu.Lock()
	defer buildErrMu.Unlock()
	p.buildErr = err
}

func (p *live) buildError() *bundle.Message {
	buildErrMu.Lock()
	defer buildErrMu.Unlock()
	var be *bundle.BuildError
	if errors.As(p.buildErr, &be) && len(be.Messages) > 0 {
		m := be.Messages[0]
		return &m
	}
	if p.buildErr != nil {
		return &bundle.Message{Text: p.buildErr.Error()}
	}
	return nil
}

// newControlHandler serves the other commands while `run` is live.
func newControlHandler(p *live) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /call", func(w http.ResponseWriter, r *http.Request) {
		var req callRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rep, err := callAction(r.Context(), p, req.Action, req.Args)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, rep)
	})
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = p.log.WriteSnapshot(w)
	})
	mux.HandleFunc("POST /checkpoint", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Timeout time.Duration `json:"timeout"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		seq, err := checkpointWithin(r.Context(), p, req.Timeout)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]uint64{"seq": seq})
	})
	mux.HandleFunc("POST /checkpoint-entry", func(w http.ResponseWriter, r *http.Request) {
		var cp wal.Checkpoint
		if err := json.NewDecoder(r.Body).Decode(&cp); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := p.log.PutCheckpoint(cp); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]uint64{"seq": cp.Seq})
	})
	mux.HandleFunc("POST /unschedule", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID uint64 `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		rep, err := p.runner.Unschedule(r.Context(), req.ID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, map[string]bool{"cancelled": rep.Output != nil})
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := statusReply{PID: osPID(), LastSeq: p.log.LastSeq(), BuildError: p.buildError()}
		err := p.runner.Inspect(r.Context(), func(m *runtime.Machine) {
			st.Code = m.Code()
			st.State, _ = m.StateJSON()
			st.Timers = listTimers(m)
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, st)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// callAction calls an action and waits for its outcome.
func callAction(ctx context.Context, p *live, action string, args json.RawMessage) (callReply, error) {
	rep, err := p.runner.Call(ctx, action, args)
	if err != nil {
		var re *runtime.RunawayError
		if errors.As(err, &re) {
			return callReply{Seq: rep.Seq, Error: &runtime.ResultData{Message: re.Message}}, nil
		}
		return callReply{}, err
	}
	out := callReply{Seq: rep.Seq}
	var d runtime.ResultData
	if rep.Output != nil {
		_ = json.Unmarshal(rep.Output.Data, &d)
	}
	if rep.Output != nil && rep.Output.Kind == runtime.KindError {
		out.Error = &d
	} else {
		out.Value = d.Value
	}
	return out, nil
}

// checkpointWithin makes a checkpoint as soon as nothing is pending, or fails
// after timeout naming what still is.
func checkpointWithin(ctx context.Context, p *live, timeout time.Duration) (uint64, error) {
	deadline := time.Now().Add(timeout)
	for {
		rep, err := p.runner.Checkpoint(ctx)
		if err == nil {
			return rep.Seq, nil
		}
		if !errors.Is(err, runtime.ErrBusy) || time.Now().After(deadline) {
			if errors.Is(err, runtime.ErrBusy) {
				return 0, errors.New("no checkpoint: " + err.Error()[len(runtime.ErrBusy.Error())+2:] +
					" is still pending after " + timeout.String())
			}
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
