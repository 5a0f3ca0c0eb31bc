package runtime

import "encoding/json"

// Kinds of input records: the events a program handles, in log order.
const (
	KindDeploy        = "deploy"         // new code: DeployData
	KindCheckpoint    = "checkpoint"     // a deploy of the same code from a state snapshot
	KindCall          = "call"           // an action called: CallData
	KindEndpoint      = "endpoint"       // an HTTP request to the program: EndpointData
	KindTimer         = "timer"          // a timer fired: TimerData
	KindSchedule      = "schedule"       // a scheduled call fired: ScheduleData
	KindUnschedule    = "unschedule"     // a scheduled call cancelled from outside: ScheduleData
	KindFetchResponse = "fetch.response" // a response arrived: FetchResponseData
	KindFetchError    = "fetch.error"    // a fetch failed: FetchResponseData with Error
)

// Kinds of output records: what the program did while handling an event.
const (
	KindResult        = "result"         // an action's value: ResultData
	KindError         = "error"          // an action's thrown error: ResultData
	KindResponse      = "response"       // the endpoint's answer: ResponseData
	KindConsole       = "console"        // ConsoleData
	KindFetch         = "fetch"          // a request as the program made it: FetchData
	KindFetchAbort    = "fetch.abort"    // FetchData (ID only)
	KindTimerSet      = "timer.set"      // TimerData
	KindTimerClear    = "timer.clear"    // TimerData (ID only)
	KindScheduleSet   = "schedule.set"   // ScheduleData
	KindScheduleClear = "schedule.clear" // ScheduleData (ID only)
	KindDeployed      = "deployed"       // DeployedData
	KindDeployError   = "deploy.error"   // ResultData
	KindSnapshot      = "snapshot"       // SnapshotData
)

// NotePrefix starts the kinds of records that say something about the run
// but are neither inputs nor outputs: replay skips them.
const NotePrefix = "note."

// KindRunaway notes an event that ran past the deadline and was rolled back.
const KindRunaway = NotePrefix + "runaway"

// IsInput says whether records of this kind are events.
func IsInput(kind string) bool {
	switch kind {
	case KindDeploy, KindCheckpoint, KindCall, KindEndpoint, KindTimer, KindSchedule,
		KindUnschedule, KindFetchResponse, KindFetchError:
		return true
	}
	return false
}

// IsNote says whether records of this kind are neither inputs nor outputs.
func IsNote(kind string) bool {
	return len(kind) > len(NotePrefix) && kind[:len(NotePrefix)] == NotePrefix
}

// DeployData names the code version a deploy or checkpoint brings.
type DeployData struct {
	Code string `json:"code"`
}

// CallData is an action called with its arguments in the tagged form.
type CallData struct {
	Action string          `json:"action"`
	Args   json.RawMessage `json:"args,omitempty"`
}

// EndpointData is an HTTP request to the program's endpoint.
type EndpointData struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

// ResultData is what an action came to: a value or an error. Call is the seq
// of the event that called it.
type ResultData struct {
	Call    uint64          `json:"call"`
	Value   json.RawMessage `json:"value,omitempty"`
	Message string          `json:"message,omitempty"`
	Name    string          `json:"name,omitempty"`
	Stack   string          `json:"stack,omitempty"`
	Unknown bool            `json:"unknown,omitempty"` // no such action
}

// ResponseData is the endpoint's answer to the request of event Call.
type ResponseData struct {
	Call    uint64      `json:"call"`
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
	Base64  bool        `json:"base64,omitempty"`
	Error   *ResultData `json:"error,omitempty"`
}

// ConsoleData is one console line.
type ConsoleData struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// FetchData is an outgoing request, as the program made it.
type FetchData struct {
	ID       uint64      `json:"id"`
	Method   string      `json:"method,omitempty"`
	URL      string      `json:"url,omitempty"`
	Headers  [][2]string `json:"headers,omitempty"`
	Body     []byte      `json:"body,omitempty"`
	Redirect string      `json:"redirect,omitempty"`
}

// FetchResponseData is a response to fetch ID, or the reason it failed.
type FetchResponseData struct {
	ID         uint64      `json:"id"`
	Status     int         `json:"status,omitempty"`
	StatusText string      `json:"statusText,omitempty"`
	URL        string      `json:"url,omitempty"`
	Headers    [][2]string `json:"headers,omitempty"`
	Body       []byte      `json:"body,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// TimerData is a timer of the program's: set, cleared or firing.
type TimerData struct {
	ID       uint64 `json:"id"`
	Due      int64  `json:"due,omitempty"`      // unix ms
	Interval int64  `json:"interval,omitempty"` // ms, for setInterval
	Code     string `json:"code,omitempty"`     // code version that set it
}

// ScheduleData is a durable call of an action: set, cleared or firing.
type ScheduleData struct {
	ID     uint64          `json:"id"`
	Action string          `json:"action,omitempty"`
	Args   json.RawMessage `json:"args,omitempty"`
	Due    int64           `json:"due,omitempty"` // unix ms of the next firing
	Cron   string          `json:"cron,omitempty"`
	Code   string          `json:"code,omitempty"` // code version that scheduled it
}

// DeployedData says which actions a deploy brought.
type DeployedData struct {
	Code    string   `json:"code"`
	Actions []string `json:"actions"`
}

// SnapshotData identifies the state a checkpoint carried over.
type SnapshotData struct {
	Hash string `json:"hash"`
}
