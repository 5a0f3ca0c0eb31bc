// The log's events as the debugger's `membrane/events` request gives them,
// and how the timeline shows each one. Nothing here depends on VS Code.

/** One event of a program's log. */
export interface LogEvent {
  seq: number;
  kind: string;
  time?: string;
  summary: string;
}

/** How the timeline shows one event. */
export interface EventRow {
  seq: number;
  label: string;
  description: string;
  tooltip: string;
}

/** EventsError is a `membrane/events` response the timeline cannot read. */
export class EventsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventsError";
  }
}

/**
 * parseEvents reads the body of a `membrane/events` response. The body must
 * hold an array `events`; each event needs a positive integer seq and a kind.
 * The time may be an RFC 3339 string or Unix milliseconds. Events come back
 * ordered by seq.
 */
export function parseEvents(body: unknown): LogEvent[] {
  if (body === null || typeof body !== "object" || !("events" in body)) {
    throw new EventsError("The debugger's membrane/events response has no events list.");
  }
  const list = (body as { events: unknown }).events;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) {
    throw new EventsError(
      "The debugger's membrane/events response has events that are not a list.",
    );
  }
  const events = list.map((raw, i): LogEvent => {
    if (raw === null || typeof raw !== "object") {
      throw new EventsError(`Event ${i + 1} of the membrane/events response is not an object.`);
    }
    const e = raw as Record<string, unknown>;
    if (typeof e.seq !== "number" || !Number.isInteger(e.seq) || e.seq < 1) {
      throw new EventsError(`Event ${i + 1} of the membrane/events response has no valid seq.`);
    }
    if (typeof e.kind !== "string" || e.kind === "") {
      throw new EventsError(`Event ${e.seq} of the membrane/events response has no kind.`);
    }
    return {
      seq: e.seq,
      kind: e.kind,
      time: normalizeTime(e.time),
      summary: typeof e.summary === "string" ? e.summary : "",
    };
  });
  return events.sort((a, b) => a.seq - b.seq);
}

// normalizeTime turns a time into RFC 3339 in UTC, or undefined when it
// cannot be read.
function normalizeTime(t: unknown): string | undefined {
  if (typeof t === "number" && Number.isFinite(t)) return new Date(t).toISOString();
  if (typeof t === "string" && t !== "") {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? t : new Date(ms).toISOString();
  }
  return undefined;
}

/** The longest summary shown on a timeline row; the tooltip has it whole. */
export const maxSummary = 80;

/**
 * eventRow formats one event for the timeline: "#seq kind" as the label, the
 * time of day and the summary (one line, shortened) as the description, and
 * everything in full in the tooltip. current marks the event the debugger is
 * stopped in.
 */
export function eventRow(e: LogEvent, current = false): EventRow {
  const summary = oneLine(e.summary);
  const short = summary.length > maxSummary ? summary.slice(0, maxSummary - 1) + "…" : summary;
  const clock = e.time ? timeOfDay(e.time) : "";
  const description = [clock, short].filter((s) => s !== "").join("  ");
  const tooltip = [`Event ${e.seq}: ${e.kind}`, e.time ?? "", summary]
    .filter((s) => s !== "")
    .join("\n");
  return {
    seq: e.seq,
    label: `${current ? "▶ " : ""}#${e.seq} ${e.kind}`,
    description,
    tooltip,
  };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

// timeOfDay shows HH:MM:SS.mmm of an RFC 3339 UTC time; any other text is
// returned as it is.
function timeOfDay(t: string): string {
  const m = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(t);
  return m ? m[1] : t;
}

/**
 * stoppedSeq reads which event of the log a DAP `stopped` event is in. The
 * debugger names it in the body's `membraneSeq` or `seq` field, or in its
 * description as "event N".
 */
export function stoppedSeq(body: unknown): number | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const b = body as Record<string, unknown>;
  for (const key of ["membraneSeq", "eventSeq", "seq"]) {
    const v = b[key];
    if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
  }
  for (const key of ["description", "text"]) {
    const v = b[key];
    if (typeof v !== "string") continue;
    const m = /\bevent\s+#?(\d+)\b/i.exec(v);
    if (m) return Number(m[1]);
  }
  return undefined;
}
