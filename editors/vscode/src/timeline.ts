// The "Membrane Timeline" view: the events of the log that the active
// membrane debug session replays, from its `membrane/events` request.
// Clicking an event sends `membrane/seek` to jump to its start.

import * as vscode from "vscode";
import { errorText } from "./client";
import { debugType } from "./debug";
import { eventRow, type LogEvent, parseEvents } from "./events";

/** The view's id in package.json. */
export const timelineViewId = "membrane.timeline";
/** The command a timeline row runs when clicked. */
export const seekCommand = "membrane.timeline.seek";

/** Supplies the timeline's rows. */
export class TimelineProvider implements vscode.TreeDataProvider<LogEvent> {
  private events: LogEvent[] = [];
  private current: number | undefined;
  // The session the events were read from: a replayed log does not change
  // during a session, so stops only move the marker.
  private loadedFrom: string | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  getTreeItem(e: LogEvent): vscode.TreeItem {
    const row = eventRow(e, e.seq === this.current);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = String(e.seq);
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = "membraneEvent";
    item.command = { command: seekCommand, title: "Jump to Event", arguments: [e.seq] };
    return item;
  }

  getChildren(element?: LogEvent): LogEvent[] {
    return element ? [] : this.events;
  }

  /** markCurrent shows which event the debugger is stopped in. */
  markCurrent(seq: number | undefined): void {
    if (seq === this.current) return;
    this.current = seq;
    this.changed.fire();
  }

  /**
   * refresh asks the active membrane session for its events. With no such
   * session the timeline empties; a failed request is shown to the user once.
   */
  async refresh(quiet = false): Promise<void> {
    const session = membraneSession();
    if (session === undefined) {
      this.events = [];
      this.current = undefined;
      this.loadedFrom = undefined;
      this.changed.fire();
      if (!quiet) {
        void vscode.window.showInformationMessage(
          "Start a membrane debug session to see its log in the timeline.",
        );
      }
      return;
    }
    try {
      this.events = parseEvents(await session.customRequest("membrane/events"));
      this.loadedFrom = session.id;
    } catch (err) {
      this.log.error(`membrane/events: ${errorText(err)}`);
      if (!quiet) {
        void vscode.window.showErrorMessage(`The timeline could not be read: ${errorText(err)}`);
      }
      return;
    }
    this.changed.fire();
  }

  /** showStop marks the event a stop of session is in, reading the events first if needed. */
  async showStop(session: vscode.DebugSession, seq: number | undefined): Promise<void> {
    if (session.id !== this.loadedFrom && session === membraneSession()) {
      await this.refresh(true);
    }
    this.markCurrent(seq);
  }

  /** seek jumps the active membrane session to the start of event seq. */
  async seek(seq: unknown): Promise<void> {
    const session = membraneSession();
    if (session === undefined) {
      void vscode.window.showInformationMessage(
        "Start a membrane debug session to jump to an event of its log.",
      );
      return;
    }
    if (typeof seq !== "number") return;
    try {
      await session.customRequest("membrane/seek", { seq });
      this.markCurrent(seq);
    } catch (err) {
      void vscode.window.showErrorMessage(`Could not jump to event ${seq}: ${errorText(err)}`);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The active debug session when it is a membrane one. */
function membraneSession(): vscode.DebugSession | undefined {
  const s = vscode.debug.activeDebugSession;
  return s?.type === debugType ? s : undefined;
}
