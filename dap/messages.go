package dap

import (
	"github.com/google/go-dap"
)

// LaunchArguments are the fields of a launch request membrane-dev reads.
type LaunchArguments struct {
	// Program is the program's directory.
	Program string `json:"program"`
	// Code is "recorded" (the default) to replay the code that ran, or
	// "current" to replay the history against the files on disk.
	Code        string `json:"code,omitempty"`
	StopOnEntry bool   `json:"stopOnEntry,omitempty"`
}

// EventsRequest is the custom request membrane/events: list the log's
// events.
type EventsRequest struct {
	dap.Request
}

// EventInfo is one event of the log as membrane/events lists it.
type EventInfo struct {
	Seq     uint64 `json:"seq"`
	Kind    string `json:"kind"`
	Time    int64  `json:"time"` // unix milliseconds, program clock
	Summary string `json:"summary"`
}

// EventsResponse answers membrane/events.
type EventsResponse struct {
	dap.Response
	Body struct {
		Events []EventInfo `json:"events"`
	} `json:"body"`
}

// SeekRequest is the custom request membrane/seek: stop at the start of
// event Seq.
type SeekRequest struct {
	dap.Request
	Arguments SeekArguments `json:"arguments"`
}

// SeekArguments name the event to jump to.
type SeekArguments struct {
	Seq uint64 `json:"seq"`
}

// SeekResponse answers membrane/seek; the stop follows as a stopped event.
type SeekResponse struct {
	dap.Response
}

// StoppedEvent is DAP's stopped event with the seq of the log event the
// program is in.
type StoppedEvent struct {
	dap.Event
	Body StoppedBody `json:"body"`
}

// StoppedBody adds Seq to the standard body: the event of the log the stop
// is in, 0 at the end of the recording.
type StoppedBody struct {
	dap.StoppedEventBody
	Seq uint64 `json:"seq"`
}
