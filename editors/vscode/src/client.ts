// The language client: one `membrane-dev lsp` for every program folder open
// in the workspace, restarted when the set of program folders changes.

import * as path from "node:path";
import * as vscode from "vscode";
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { lspCommand } from "./cli";
import { isProgramFolder } from "./program";

/**
 * Hooks around the client's life. The client registers a VS Code command for
 * each command the server says it executes, so the extension's own command of
 * the same name must be out of the way while such a server runs.
 */
export interface ClientHooks {
  /** beforeStart runs before a server starts. */
  beforeStart(): void;
  /** afterStart gets the commands the started server executes. */
  afterStart(serverCommands: readonly string[]): void;
  /** afterStop runs once no server runs. */
  afterStop(): void;
  /** executeCommand runs a server command that the user invoked. */
  executeCommand(command: string, args: unknown[], next: ServerCommand): Promise<unknown>;
}

/** ServerCommand sends workspace/executeCommand to the server. */
export type ServerCommand = (command: string, args: unknown[]) => Promise<unknown>;

/** Finds program folders and keeps one language client running for them. */
export class ProgramClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private folders: string[] = [];
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly binary: () => string,
    private readonly log: vscode.LogOutputChannel,
    private readonly hooks: ClientHooks,
  ) {}

  /** refresh scans the workspace and (re)starts the client if the folders changed. */
  refresh(): Promise<void> {
    this.pending = this.pending
      .then(() => this.sync())
      .catch((err) => {
        this.log.error(`membrane-dev language server: ${errorText(err)}`);
        void vscode.window.showErrorMessage(
          `The membrane-dev language server could not start: ${errorText(err)}`,
        );
      });
    return this.pending;
  }

  /** restart stops the server and starts it again, with the binary now configured. */
  restart(): Promise<void> {
    this.pending = this.pending.then(() => this.stop());
    this.folders = [];
    return this.refresh();
  }

  /** programFolders lists the program folders found by the last scan. */
  programFolders(): readonly string[] {
    return this.folders;
  }

  private async sync(): Promise<void> {
    const found = await findProgramFolders();
    if (sameList(found, this.folders) && (this.client || found.length === 0)) return;
    this.folders = found;
    await this.stop();
    if (found.length === 0) return;
    await this.start(found);
  }

  private async start(folders: string[]): Promise<void> {
    const line = lspCommand(this.binary());
    // No transport is named: with TransportKind.stdio the client would add
    // a --stdio flag that `membrane-dev lsp` does not take; it speaks on
    // standard I/O anyway.
    const server: ServerOptions = {
      run: { command: line.command, args: line.args },
      debug: { command: line.command, args: line.args },
    };
    const selector = folders.flatMap((dir) =>
      ["typescript", "javascript"].map((language) => ({
        scheme: "file",
        language,
        pattern: `${globEscape(dir)}/**/*`,
      })),
    );
    const options: LanguageClientOptions = {
      documentSelector: selector,
      // VS Code's TypeScript server already gives types, completion and
      // syntax errors; the membrane-dev server leaves those to it.
      initializationOptions: { typescriptServer: true },
      outputChannel: this.log,
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{ts,js,mts,mjs}"),
      },
      middleware: {
        executeCommand: (command, args, next) =>
          this.hooks.executeCommand(command, args, async (c, a) => next(c, a)),
      },
    };
    this.client = new LanguageClient("membrane", "membrane-dev language server", server, options);
    this.log.info(`starting the language server for ${folders.join(", ")}`);
    this.hooks.beforeStart();
    try {
      await this.client.start();
    } catch (err) {
      this.client = undefined;
      this.hooks.afterStop();
      throw err;
    }
    const offered = this.client.initializeResult?.capabilities.executeCommandProvider?.commands;
    this.hooks.afterStart(offered ?? []);
  }

  private async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.stop();
      this.hooks.afterStop();
    }
  }

  dispose(): void {
    void this.stop();
  }
}

/**
 * findProgramFolders lists the program folders in the workspace: folders
 * with an index.ts or index.js that imports "membrane" or holds .membrane/.
 */
export async function findProgramFolders(): Promise<string[]> {
  const entries = await vscode.workspace.findFiles(
    "**/index.{ts,js}",
    "**/{node_modules,.membrane,.git}/**",
    500,
  );
  const dirs = new Set(
    entries.filter((u) => u.scheme === "file").map((u) => path.dirname(u.fsPath)),
  );
  return [...dirs].filter(isProgramFolder).sort();
}

// globEscape escapes the characters a glob pattern treats specially, so a
// folder path is matched literally.
function globEscape(p: string): string {
  return p
    .split(path.sep)
    .join("/")
    .replace(/[?*[\]{}!]/g, (c) => `[${c}]`);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** errorText is an error's message, for one-sentence user messages. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
