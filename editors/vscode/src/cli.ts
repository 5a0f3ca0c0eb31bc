// Command lines the extension runs, and the checks on what the user types
// into them. Nothing here depends on VS Code.

import * as fs from "node:fs";
import * as path from "node:path";

/** A program to start and its arguments, never passed through a shell. */
export interface CommandLine {
  command: string;
  args: string[];
}

/** ArgsError is a user's action arguments that are not a JSON object. */
export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgsError";
  }
}

/**
 * parseActionArgs checks the arguments a user typed for an action and returns
 * them as compact JSON. Empty input means no arguments, `{}`. Anything other
 * than a JSON object is refused with one sentence that says why.
 */
export function parseActionArgs(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "{}";
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ArgsError(`The arguments are not valid JSON: ${reason}.`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw new ArgsError(`The arguments must be a JSON object such as {"by": 2}, not ${kind}.`);
  }
  return JSON.stringify(value);
}

/** isActionName tells whether name can be an action: a JavaScript identifier. */
export function isActionName(name: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(name);
}

/** callCommand is `membrane-dev call --dir DIR NAME ARGS`. */
export function callCommand(binary: string, dir: string, name: string, args: string): CommandLine {
  return { command: binary, args: ["call", "--dir", dir, name, args] };
}

/** replayCommand is `membrane-dev replay --dir DIR`, with the recorded code. */
export function replayCommand(binary: string, dir: string): CommandLine {
  return { command: binary, args: ["replay", "--dir", dir] };
}

/** logCommand is `membrane-dev log --dir DIR`. */
export function logCommand(binary: string, dir: string): CommandLine {
  return { command: binary, args: ["log", "--dir", dir] };
}

/** exitNodeCommand is `membrane-dev exit-node`, on listen when one is given. */
export function exitNodeCommand(binary: string, listen?: string): CommandLine {
  const args = ["exit-node"];
  const addr = listen?.trim();
  if (addr) args.push("--listen", addr);
  return { command: binary, args };
}

/** dapCommand is the debug adapter: `membrane-dev dap` on standard I/O. */
export function dapCommand(binary: string): CommandLine {
  return { command: binary, args: ["dap"] };
}

/** lspCommand is the language server: `membrane-dev lsp` on standard I/O. */
export function lspCommand(binary: string): CommandLine {
  return { command: binary, args: ["lsp"] };
}

/** The binary's name when the membrane.path setting is empty. */
export const defaultBinary = "membrane-dev";

/** BinaryNotFoundError says the membrane-dev binary could not be found. */
export class BinaryNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BinaryNotFoundError";
  }
}

/**
 * resolveBinary finds the membrane-dev binary: the membrane.path setting when
 * it is set (a leading ~ is the home folder), else membrane-dev on the PATH
 * given. It throws BinaryNotFoundError with a sentence telling the user what
 * to do.
 */
export function resolveBinary(setting: string | undefined, envPath: string, home = ""): string {
  let configured = (setting ?? "").trim();
  if (configured !== "") {
    if (configured === "~" || configured.startsWith("~/")) {
      configured = path.join(home, configured.slice(1));
    }
    if (isExecutable(configured)) return configured;
    throw new BinaryNotFoundError(
      `The membrane.path setting names ${configured}, which is not an executable file.`,
    );
  }
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, defaultBinary);
    if (isExecutable(candidate)) return candidate;
  }
  throw new BinaryNotFoundError(
    `${defaultBinary} was not found on PATH; install it or set membrane.path to the binary.`,
  );
}

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * displayCommand renders a command line for the output channel, quoting an
 * argument only when a shell would need it, so a user can paste it.
 */
export function displayCommand(line: CommandLine): string {
  return [line.command, ...line.args].map(shellQuote).join(" ");
}

function shellQuote(arg: string): string {
  if (arg !== "" && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
