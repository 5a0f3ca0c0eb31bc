import assert from "node:assert/strict";
import { test } from "node:test";
import { eventRow, EventsError, maxSummary, parseEvents, stoppedSeq } from "../src/events";

test("parseEvents reads the debugger's events in seq order", () => {
  const events = parseEvents({
    events: [
      { seq: 3, kind: "call", time: "2026-01-02T03:04:05.678Z", summary: 'increment {"by":2}' },
      { seq: 1, kind: "deploy", time: 1767323045000, summary: "index.ts" },
      { seq: 2, kind: "clock" },
    ],
  });
  assert.deepEqual(events, [
    { seq: 1, kind: "deploy", time: "2026-01-02T03:04:05.000Z", summary: "index.ts" },
    { seq: 2, kind: "clock", time: undefined, summary: "" },
    { seq: 3, kind: "call", time: "2026-01-02T03:04:05.678Z", summary: 'increment {"by":2}' },
  ]);
  assert.deepEqual(parseEvents({ events: [] }), []);
  assert.deepEqual(parseEvents({ events: null }), []);
});

test("parseEvents refuses bodies it cannot read, naming the event", () => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /no events list/],
    [{}, /no events list/],
    [{ events: "x" }, /not a list/],
    [{ events: [7] }, /Event 1 .* not an object/],
    [
      {
        events: [
          { seq: 1, kind: "call" },
          { seq: 0, kind: "call" },
        ],
      },
      /Event 2 .* no valid seq/,
    ],
    [{ events: [{ seq: 1.5, kind: "call" }] }, /no valid seq/],
    [{ events: [{ seq: 4 }] }, /Event 4 .* no kind/],
  ];
  for (const [body, message] of cases) {
    assert.throws(
      () => parseEvents(body),
      (err: unknown) => {
        assert.ok(err instanceof EventsError);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test("eventRow shows seq and kind, the time of day and a one-line summary", () => {
  const row = eventRow({
    seq: 12,
    kind: "call",
    time: "2026-01-02T03:04:05.678Z",
    summary: 'increment\n  {"by": 2}',
  });
  assert.deepEqual(row, {
    seq: 12,
    label: "#12 call",
    description: '03:04:05.678  increment {"by": 2}',
    tooltip: 'Event 12: call\n2026-01-02T03:04:05.678Z\nincrement {"by": 2}',
  });
  assert.equal(eventRow({ seq: 1, kind: "deploy", summary: "" }).description, "");
  assert.equal(eventRow({ seq: 5, kind: "timer", summary: "" }, true).label, "▶ #5 timer");
});

test("eventRow shortens long summaries but keeps them whole in the tooltip", () => {
  const summary = "x".repeat(200);
  const row = eventRow({ seq: 1, kind: "console", summary });
  assert.equal(row.description.length, maxSummary);
  assert.ok(row.description.endsWith("…"));
  assert.ok(row.tooltip.endsWith(summary));
});

test("stoppedSeq finds the log event a stop is in", () => {
  assert.equal(stoppedSeq({ reason: "step", membraneSeq: 7 }), 7);
  assert.equal(stoppedSeq({ reason: "breakpoint", description: "Paused in event 42 (call)" }), 42);
  assert.equal(stoppedSeq({ reason: "step", text: "event #3" }), 3);
  assert.equal(stoppedSeq({ reason: "pause" }), undefined);
  assert.equal(stoppedSeq(null), undefined);
  assert.equal(stoppedSeq({ membraneSeq: -1 }), undefined);
});
