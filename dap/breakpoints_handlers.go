package dap

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-dap"
)

// relPath turns a client's path into one relative to the program.
func (s *Session) relPath(path string) (string, error) {
	rel, err := filepath.Rel(s.dir, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is outside the program's directory %s", path, s.dir)
	}
	return filepath.ToSlash(rel), nil
}

func (s *Session) onSetBreakpoints(r *dap.SetBreakpointsRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &dap.SetBreakpointsResponse{Response: newResponse(&r.Request)}
	args := r.Arguments
	resp.Body.Breakpoints = make([]dap.Breakpoint, len(args.Breakpoints))
	if s.hist == nil {
		for i, b := range args.Breakpoints {
			resp.Body.Breakpoints[i] = dap.Breakpoint{Line: b.Line, Message: errNotLaunched.Error()}
		}
		s.send(resp)
		return nil
	}
	rel, relErr := s.relPath(args.Source.Path)
	var placed []*breakpoint
	codes, _ := s.hist.allCodes()
	for i, b := range args.Breakpoints {
		s.nextBp++
		bp := &breakpoint{id: s.nextBp, condition: b.Condition, hitCondition: b.HitCondition,
			logMessage: b.LogMessage, file: rel, line: b.Line, sites: map[string][]int{}}
		out := dap.Breakpoint{Id: bp.id, Line: b.Line, Source: &args.Source}
		err := relErr
		if err == nil {
			err = checkHitCondition(b.HitCondition)
		}
		if err == nil {
			err = s.place(bp, codes, args.Source.SourceReference)
		}
		if err != nil {
			out.Message = err.Error()
		} else {
			out.Verified, out.Line = true, bp.line
			placed = append(placed, bp)
		}
		resp.Body.Breakpoints[i] = out
	}
	if relErr == nil {
		// A file and the version of it shown from the log hold their
		// breakpoints apart, as the client does.
		s.lineBps[fmt.Sprintf("%s#%d", rel, args.Source.SourceReference)] = placed
	}
	s.rebuildBreakpoints()
	s.send(resp)
	return nil
}

// place binds a line breakpoint in the code versions that ran its file.
// Where a version's text of the file is the text the breakpoint was set in
// (the file on disk, or the version from the log it was set in), it binds
// at its line; elsewhere at the nearest line with the same text, if any.
// Its line becomes where it binds in the text it was set in.
func (s *Session) place(bp *breakpoint, codes []*code, ref int) error {
	var shown string
	if key, ok := s.sources[ref]; ok && ref != 0 {
		if c := s.hist.codeByHash(key.hash); c != nil {
			shown = c.cv.Sources[key.file]
		}
	} else {
		disk, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(bp.file)))
		if err != nil {
			return fmt.Errorf("%s is not part of the code that ran", bp.file)
		}
		shown = string(disk)
	}
	var firstErr error
	for _, c := range codes {
		text, ok := c.cv.Sources[bp.file]
		line := bp.line
		if ok && text != shown {
			if line = sameLine(shown, text, bp.line); line == 0 {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s has changed since it ran and line %d is not in "+
						"the code that ran; set it in the source shown from the log", bp.file, bp.line)
				}
				continue
			}
		}
		sites, placed, err := c.placeBreakpoint(bp.file, line)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		bp.sites[c.cv.Hash] = sites
		if text == shown {
			bp.line = placed
		}
	}
	if len(bp.sites) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("no code has run")
		}
		return firstErr
	}
	return nil
}

// sameLine finds the line of text nearest to line that reads as line of
// shown does, ignoring indentation; 0 when there is none.
func sameLine(shown, text string, line int) int {
	from := strings.Split(shown, "\n")
	if line < 1 || line > len(from) {
		return 0
	}
	want := strings.TrimSpace(from[line-1])
	if want == "" {
		return 0
	}
	to := strings.Split(text, "\n")
	for d := 0; d < len(to); d++ {
		for _, l := range []int{line - d, line + d} {
			if l >= 1 && l <= len(to) && strings.TrimSpace(to[l-1]) == want {
				return l
			}
		}
	}
	return 0
}

func (s *Session) onSetFunctionBreakpoints(r *dap.SetFunctionBreakpointsRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		return errNotLaunched
	}
	resp := &dap.SetFunctionBreakpointsResponse{Response: newResponse(&r.Request)}
	// The protocol requires the array even when it is empty; editors
	// iterate it.
	resp.Body.Breakpoints = []dap.Breakpoint{}
	codes, _ := s.hist.allCodes()
	s.fnBps = nil
	for _, b := range r.Arguments.Breakpoints {
		s.nextBp++
		bp := &breakpoint{id: s.nextBp, function: b.Name, condition: b.Condition,
			hitCondition: b.HitCondition, sites: map[string][]int{}}
		out := dap.Breakpoint{Id: bp.id}
		for _, c := range codes {
			if sites := c.funcEntry(b.Name); len(sites) > 0 {
				bp.sites[c.cv.Hash] = sites
				p := c.sites[sites[0]]
				out.Line = p.Line
				if p.File != "" {
					out.Source = s.sourceOf(c, p.File)
				}
			}
		}
		if err := checkHitCondition(b.HitCondition); err != nil {
			out.Message = err.Error()
		} else if len(bp.sites) == 0 {
			out.Message = fmt.Sprintf("no code that ran has an action or function named %s", b.Name)
		} else {
			out.Verified = true
			s.fnBps = append(s.fnBps, bp)
		}
		resp.Body.Breakpoints = append(resp.Body.Breakpoints, out)
	}
	s.rebuildBreakpoints()
	s.send(resp)
	return nil
}

func (s *Session) onSetExceptionBreakpoints(r *dap.SetExceptionBreakpointsRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exceptions = false
	for _, f := range r.Arguments.Filters {
		if f == "all" || f == "uncaught" {
			s.exceptions = true
		}
	}
	resp := &dap.SetExceptionBreakpointsResponse{Response: newResponse(&r.Request)}
	for range r.Arguments.Filters {
		resp.Body.Breakpoints = append(resp.Body.Breakpoints, dap.Breakpoint{Verified: true})
	}
	s.send(resp)
	return nil
}

// rebuildBreakpoints makes the breakpoint set replays read. s.mu is held.
func (s *Session) rebuildBreakpoints() {
	var all []*breakpoint
	for _, list := range s.lineBps {
		all = append(all, list...)
	}
	all = append(all, s.fnBps...)
	s.bps = newBreakpoints(all, func(bp *breakpoint, text string) {
		ev := &dap.OutputEvent{Event: newEvent("output")}
		ev.Body.Category = "console"
		ev.Body.Output = text + "\n"
		if bp.file != "" {
			ev.Body.Source = &dap.Source{Name: filepath.Base(bp.file),
				Path: filepath.Join(s.dir, filepath.FromSlash(bp.file))}
			ev.Body.Line = bp.line
		}
		s.send(ev)
	})
}
