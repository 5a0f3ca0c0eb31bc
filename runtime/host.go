package runtime

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// hostObject is the Go side of the prelude: the only way program code
// reaches outside its heap, and every call of it becomes an output record or
// reads from the current event.
func (m *Machine) hostObject() *goja.Object {
	vm := m.vm
	h := vm.NewObject()
	set := func(name string, fn func(goja.FunctionCall) goja.Value) {
		_ = h.Set(name, fn)
	}
	arg := func(c goja.FunctionCall, i int) string { return c.Argument(i).String() }

	set("console", func(c goja.FunctionCall) goja.Value {
		m.emit(KindConsole, ConsoleData{Level: arg(c, 0), Text: arg(c, 1)}, 0)
		return goja.Undefined()
	})
	set("settle", func(c goja.FunctionCall) goja.Value {
		call := uint64(c.Argument(0).ToInteger())
		delete(m.inflight, call)
		if c.Argument(1).ToBoolean() {
			// The value is JSON the prelude made; framing it by hand saves
			// re-validating it on every result.
			v := arg(c, 2)
			raw := make([]byte, 0, len(v)+32)
			raw = append(raw, `{"call":`...)
			raw = strconv.AppendUint(raw, call, 10)
			raw = append(raw, `,"value":`...)
			raw = append(raw, v...)
			raw = append(raw, '}')
			m.out = append(m.out, Output{Kind: KindResult, Data: raw, Call: call})
			return goja.Undefined()
		}
		var d ResultData
		_ = json.Unmarshal([]byte(arg(c, 2)), &d)
		d.Call = call
		m.emit(KindError, d, call)
		return goja.Undefined()
	})
	set("pending", func(c goja.FunctionCall) goja.Value {
		call := uint64(c.Argument(0).ToInteger())
		if _, ok := m.inflight[call]; !ok {
			m.inflight[call] = "the action " + arg(c, 1)
		}
		return goja.Undefined()
	})
	set("respond", func(c goja.FunctionCall) goja.Value {
		call := uint64(c.Argument(0).ToInteger())
		delete(m.inflight, call)
		var d ResponseData
		if err := json.Unmarshal([]byte(arg(c, 1)), &d); err != nil {
			d = ResponseData{Status: 500, Body: "the endpoint's answer does not decode\n"}
		}
		d.Call = call
		m.emit(KindResponse, d, call)
		return goja.Undefined()
	})
	set("setTimer", func(c goja.FunctionCall) goja.Value {
		ms := int64(c.Argument(0).ToFloat())
		t := &TimerData{ID: m.allocID(), Due: m.now + ms, Code: m.code}
		if c.Argument(1).ToBoolean() {
			t.Interval = max(ms, 1)
		}
		m.timers[t.ID] = t
		m.emit(KindTimerSet, t, 0)
		return vm.ToValue(t.ID)
	})
	set("clearTimer", func(c goja.FunctionCall) goja.Value {
		id := uint64(c.Argument(0).ToInteger())
		if _, ok := m.timers[id]; ok {
			delete(m.timers, id)
			m.emit(KindTimerClear, TimerData{ID: id}, 0)
		}
		return goja.Undefined()
	})
	set("schedule", func(c goja.FunctionCall) goja.Value {
		s := &ScheduleData{Action: arg(c, 0), Args: json.RawMessage(arg(c, 1)), Code: m.code}
		ms := int64(c.Argument(2).ToFloat())
		switch expr := arg(c, 3); {
		case expr != "":
			sched, err := ParseCron(expr)
			if err != nil {
				panic(vm.NewTypeError("the cron expression %q does not parse: %v "+
					"(six fields: second minute hour day-of-month month day-of-week, in UTC)", expr, err))
			}
			s.Cron = expr
			s.Due = sched.Next(time.UnixMilli(m.now)).UnixMilli()
		case c.Argument(4).ToBoolean():
			s.Due = ms
		default:
			s.Due = m.now + ms
		}
		s.ID = m.allocID()
		m.schedules[s.ID] = s
		m.emit(KindScheduleSet, s, 0)
		return vm.ToValue(s.ID)
	})
	set("unschedule", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(m.unschedule(uint64(c.Argument(0).ToInteger())))
	})
	set("fetch", func(c goja.FunctionCall) goja.Value { return vm.ToValue(m.hostFetch(c)) })
	set("abortFetch", func(c goja.FunctionCall) goja.Value {
		id := uint64(c.Argument(0).ToInteger())
		if _, ok := m.fetches[id]; ok {
			delete(m.fetches, id)
			m.emit(KindFetchAbort, FetchData{ID: id}, 0)
		}
		return goja.Undefined()
	})
	set("b64", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(base64.StdEncoding.EncodeToString(m.bytesArg(c.Argument(0))))
	})
	set("unb64", func(c goja.FunctionCall) goja.Value {
		b, err := base64.StdEncoding.DecodeString(arg(c, 0))
		if err != nil {
			panic(vm.NewTypeError("bad base64: %v", err))
		}
		return vm.ToValue(vm.NewArrayBuffer(b))
	})
	set("atob", func(c goja.FunctionCall) goja.Value {
		s := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
				return -1
			}
			return r
		}, arg(c, 0))
		s = strings.TrimRight(s, "=")
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			panic(m.domError("InvalidCharacterError", "the string to be decoded is not correctly encoded"))
		}
		runes := make([]rune, len(b))
		for i, x := range b {
			runes[i] = rune(x)
		}
		return vm.ToValue(string(runes))
	})
	set("btoa", func(c goja.FunctionCall) goja.Value {
		s := arg(c, 0)
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				panic(m.domError("InvalidCharacterError", "the string to be encoded contains "+
					"characters outside of the Latin1 range"))
			}
			b = append(b, byte(r))
		}
		return vm.ToValue(base64.StdEncoding.EncodeToString(b))
	})
	set("utf8Encode", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(vm.NewArrayBuffer([]byte(arg(c, 0))))
	})
	set("utf8Decode", func(c goja.FunctionCall) goja.Value {
		b := m.bytesArg(c.Argument(0))
		if !utf8.Valid(b) {
			return vm.ToValue(strings.ToValidUTF8(string(b), "\uFFFD"))
		}
		return vm.ToValue(string(b))
	})
	set("randomBytes", func(c goja.FunctionCall) goja.Value {
		b := make([]byte, c.Argument(0).ToInteger())
		for i := range b {
			b[i] = byte(m.random().Uint32())
		}
		return vm.ToValue(vm.NewArrayBuffer(b))
	})
	set("randomUUID", func(goja.FunctionCall) goja.Value {
		var b [16]byte
		for i := range b {
			b[i] = byte(m.random().Uint32())
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return vm.ToValue(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
	})
	set("mapStack", func(c goja.FunctionCall) goja.Value { return vm.ToValue(m.mapStack(arg(c, 0))) })
	set("startTime", func(goja.FunctionCall) goja.Value { return vm.ToValue(m.start) })
	return h
}

func (m *Machine) domError(name, msg string) *goja.Object {
	e := m.vm.NewGoError(fmt.Errorf("%s", msg))
	_ = e.Set("name", name)
	return e
}

func (m *Machine) bytesArg(v goja.Value) []byte {
	if ab, ok := v.Export().(goja.ArrayBuffer); ok {
		return ab.Bytes()
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	panic(m.vm.NewTypeError("expected an ArrayBuffer"))
}

// nonIdempotent are the methods whose retry after a crash could do a thing
// twice; they get an Idempotency-Key unless the program set one.
var nonIdempotent = map[string]bool{"POST": true, "PATCH": true}

func (m *Machine) hostFetch(c goja.FunctionCall) uint64 {
	method := strings.ToUpper(c.Argument(0).String())
	raw := c.Argument(1).String()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		panic(m.vm.NewTypeError("fetch takes an http or https URL, not %q", raw))
	}
	var pairs [][]string
	_ = m.vm.ExportTo(c.Argument(2), &pairs)
	f := &FetchData{ID: m.allocID(), Method: method, URL: u.String(), Redirect: c.Argument(4).String()}
	hasKey := false
	for _, p := range pairs {
		if len(p) == 2 {
			f.Headers = append(f.Headers, [2]string{p[0], p[1]})
			hasKey = hasKey || strings.EqualFold(p[0], "idempotency-key")
		}
	}
	if nonIdempotent[method] && !hasKey {
		f.Headers = append(f.Headers, [2]string{"idempotency-key", m.idempotencyKey(f.ID)})
	}
	f.Body = m.bytesArg(c.Argument(3))
	if f.Redirect == "follow" || f.Redirect == "undefined" {
		f.Redirect = ""
	}
	m.fetches[f.ID] = f
	m.emit(KindFetch, f, 0)
	return f.ID
}
