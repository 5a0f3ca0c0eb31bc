// The commands a user runs on a program: run an action, debug it, replay the
// log, start an exit node. The language server's code lenses call the first
// three with [dir, action]; from the command palette they ask for what they
// need.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  ArgsError,
  callCommand,
  type CommandLine,
  displayCommand,
  exitNodeCommand,
  isActionName,
  logCommand,
  parseActionArgs,
  replayCommand,
} from "./cli";
import { activeProgramFolder, launchConfiguration } from "./debug";
import { entryFile, exportedActions } from "./program";

/** The result of a finished command line. */
interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the program commands, writing what they print to the output channel. */
export class Actions {
  private lastArgs = new Map<string, string>();

  constructor(
    private readonly binary: () => string,
    private readonly programs: () => readonly string[],
    private readonly out: vscode.LogOutputChannel,
    private readonly stops: vscode.Event<{ session: vscode.DebugSession }>,
  ) {}

  /**
   * run calls an action with `membrane-dev call`, asking for what the caller
   * did not give: the program, the action, and its arguments as JSON. The
   * call goes through a live `membrane-dev run` of the program when there is
   * one.
   */
  async run(dir?: unknown, action?: unknown, args?: unknown): Promise<void> {
    const program = await this.pickProgram(dir);
    if (program === undefined) return;
    const name = typeof action === "string" && action !== "" ? action : await pickAction(program);
    if (name === undefined) return;
    const json = args === undefined ? await this.askArgs(program, name) : toArgsJSON(args);
    if (json === undefined) return;

    const line = callCommand(this.binary(), program, name, json);
    const done = await this.exec(line, `Running ${name}…`);
    if (done.code === 0) {
      const result = done.stdout.trim();
      void vscode.window.showInformationMessage(
        `${name} returned ${result === "" ? "nothing" : result}`,
      );
    } else {
      void vscode.window.showErrorMessage(`${name} failed: ${firstLine(done.stderr)}`);
    }
  }

  // askArgs prompts for an action's arguments, offering the last ones used.
  private async askArgs(program: string, name: string): Promise<string | undefined> {
    const key = `${program}\0${name}`;
    const typed = await vscode.window.showInputBox({
      title: `Run ${name}`,
      prompt: `Arguments for ${name} as a JSON object (empty for none)`,
      placeHolder: '{"by": 2}',
      value: this.lastArgs.get(key) ?? "",
      validateInput: (text) => {
        try {
          parseActionArgs(text);
          return undefined;
        } catch (err) {
          return err instanceof ArgsError ? err.message : String(err);
        }
      },
    });
    if (typed === undefined) return undefined;
    this.lastArgs.set(key, typed);
    return parseActionArgs(typed);
  }

  /**
   * debug replays the program's log under the debugger. Given an action, it
   * stops in it; given a seq (the lens passes the action's last call), it
   * travels to the start of that event once the session first stops.
   */
  async debug(dir?: unknown, action?: unknown, seq?: unknown): Promise<void> {
    const program = await this.pickProgram(dir);
    if (program === undefined) return;
    if (typeof action === "string" && action !== "") {
      const known = vscode.debug.breakpoints.some(
        (b) => b instanceof vscode.FunctionBreakpoint && b.functionName === action,
      );
      if (!known) vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(action)]);
    }
    const travel = typeof seq === "number" && Number.isInteger(seq) && seq > 0 ? seq : undefined;
    const config = launchConfiguration(program, "recorded", travel !== undefined);
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(program));
    if (travel !== undefined) {
      const first = this.stops((stop) => {
        first.dispose();
        void stop.session.customRequest("membrane/seek", { seq: travel }).then(undefined, (err) => {
          void vscode.window.showErrorMessage(`Could not travel to event ${travel}: ${err}`);
        });
      });
      const started = await vscode.debug.startDebugging(folder, config);
      if (!started) first.dispose();
      return;
    }
    await vscode.debug.startDebugging(folder, config);
  }

  /** log shows the program's log in the output channel. */
  async log(dir?: unknown, action?: unknown): Promise<void> {
    const program = await this.pickProgram(dir);
    if (program === undefined) return;
    const title = typeof action === "string" ? `History of ${action}…` : "Reading the log…";
    const done = await this.exec(logCommand(this.binary(), program), title);
    if (done.code !== 0) {
      void vscode.window.showErrorMessage(`The log could not be read: ${firstLine(done.stderr)}`);
      return;
    }
    this.out.show(true);
  }

  /** replay re-runs the program's log and reports whether it matched. */
  async replay(dir?: unknown): Promise<void> {
    const program = await this.pickProgram(dir);
    if (program === undefined) return;
    const done = await this.exec(replayCommand(this.binary(), program), "Replaying the log…");
    const name = path.basename(program);
    if (done.code === 0) {
      void vscode.window.showInformationMessage(`The replay of ${name} matched its log.`);
    } else if (done.code === 1 && done.stdout.trim() !== "") {
      void vscode.window.showWarningMessage(
        `The replay of ${name} diverged from its log; the output shows where.`,
      );
      this.out.show(true);
    } else {
      void vscode.window.showErrorMessage(
        `The replay of ${name} failed: ${firstLine(done.stderr)}`,
      );
    }
  }

  /** exitNode starts an exit node in a terminal, where it runs until closed. */
  async exitNode(): Promise<void> {
    const listen = await vscode.window.showInputBox({
      title: "Start Exit Node",
      prompt: "Address to listen on, HOST:PORT (empty for the default)",
      placeHolder: "127.0.0.1:8080",
    });
    if (listen === undefined) return;
    const line = exitNodeCommand(this.binary(), listen);
    const terminal = vscode.window.createTerminal({
      name: "membrane-dev exit node",
      shellPath: line.command,
      shellArgs: line.args,
    });
    terminal.show();
  }

  // pickProgram returns dir when the caller gave one, else the program of
  // the active editor, else asks which of the workspace's programs.
  private async pickProgram(dir: unknown): Promise<string | undefined> {
    if (typeof dir === "string" && dir !== "") return dir;
    if (dir instanceof vscode.Uri) return dir.fsPath;
    const active = activeProgramFolder();
    if (active !== undefined) return active;
    const programs = this.programs();
    if (programs.length === 1) return programs[0];
    if (programs.length === 0) {
      void vscode.window.showErrorMessage(
        "No membrane-dev program is open: a program folder holds an index.ts or index.js " +
          'that imports "membrane".',
      );
      return undefined;
    }
    return vscode.window.showQuickPick([...programs], { title: "Which program?" });
  }

  // exec runs a command line to its end, with a progress notification,
  // echoing it and its output to the output channel.
  private exec(line: CommandLine, title: string): Promise<Finished> {
    this.out.info(`$ ${displayCommand(line)}`);
    return Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title },
        () =>
          new Promise<Finished>((resolve) => {
            execFile(line.command, line.args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
              if (stdout) this.out.info(stdout.trimEnd());
              if (stderr) this.out.warn(stderr.trimEnd());
              let code = 0;
              if (err) {
                code = typeof err.code === "number" ? err.code : -1;
                if (code === -1 && !stderr) stderr = err.message;
              }
              resolve({ code, stdout, stderr });
            });
          }),
      ),
    );
  }
}

// pickAction asks which action to run, offering the ones the entry file
// exports and taking any other name typed.
async function pickAction(program: string): Promise<string | undefined> {
  const entry = entryFile(program);
  const names = entry ? exportedActions(fs.readFileSync(entry, "utf8")) : [];
  if (names.length > 0) {
    return vscode.window.showQuickPick(names, { title: "Which action?" });
  }
  return vscode.window.showInputBox({
    title: "Which action?",
    prompt: "Name of the action to run",
    validateInput: (text) =>
      isActionName(text) ? undefined : "An action name is a JavaScript identifier.",
  });
}

// toArgsJSON turns arguments given by a code lens (an object or JSON text)
// into JSON text.
function toArgsJSON(args: unknown): string {
  return typeof args === "string" ? parseActionArgs(args) : parseActionArgs(JSON.stringify(args));
}

function firstLine(s: string): string {
  const line = s.trim().split("\n")[0] ?? "";
  return line.replace(/^membrane-dev:\s*/, "") || "it exited with an error";
}
