// The `membrane` debug type: `membrane-dev dap` started as a debug adapter
// executable, launch configurations filled in from the open program, and a
// tracker that tells the timeline when the debugger stops.

import * as vscode from "vscode";
import { dapCommand } from "./cli";
import { stoppedSeq } from "./events";
import { programFolderOf } from "./program";

/** The debug type the extension contributes. */
export const debugType = "membrane";

/** Starts `membrane-dev dap` on standard I/O for each debug session. */
export class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly binary: () => string) {}

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const line = dapCommand(this.binary());
    return new vscode.DebugAdapterExecutable(line.command, line.args);
  }
}

/**
 * Fills in a launch configuration: F5 without a launch.json debugs the
 * program of the active editor, and a missing `code` means the recorded code.
 */
export class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    if (!config.type && !config.request && !config.name) {
      const program = activeProgramFolder(folder);
      if (program === undefined) {
        void vscode.window.showErrorMessage(
          "Open a file of a membrane-dev program to debug it: " +
            "no program folder holds the active editor.",
        );
        return undefined;
      }
      return launchConfiguration(program, "recorded");
    }
    if (config.type === debugType && !config.program) {
      const program = activeProgramFolder(folder) ?? folder?.uri.fsPath;
      if (program === undefined) {
        void vscode.window.showErrorMessage(
          'The membrane launch configuration needs a program folder in "program".',
        );
        return undefined;
      }
      config.program = program;
    }
    config.code ??= "recorded";
    return config;
  }
}

/** launchConfiguration is a launch of program's log under the debugger. */
export function launchConfiguration(
  program: string,
  code: "recorded" | "current",
  stopOnEntry = false,
): vscode.DebugConfiguration {
  return {
    type: debugType,
    request: "launch",
    name: code === "recorded" ? "Replay program (recorded code)" : "Replay program (current code)",
    program,
    code,
    stopOnEntry,
  };
}

/** The program folder of the active editor's file, if it is in one. */
export function activeProgramFolder(folder?: vscode.WorkspaceFolder): string | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc || doc.uri.scheme !== "file") return undefined;
  const root = folder ?? vscode.workspace.getWorkspaceFolder(doc.uri);
  return programFolderOf(doc.uri.fsPath, root?.uri.fsPath);
}

/**
 * Watches the messages of membrane debug sessions and reports each stop, with
 * the event of the log it is in when the debugger says so.
 */
export class StopTracker implements vscode.DebugAdapterTrackerFactory {
  private readonly stopped = new vscode.EventEmitter<{
    session: vscode.DebugSession;
    seq?: number;
  }>();
  /** onDidStop fires after every `stopped` event of a membrane session. */
  readonly onDidStop = this.stopped.event;

  createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    return {
      onDidSendMessage: (message: unknown) => {
        const m = message as { type?: string; event?: string; body?: unknown };
        if (m.type === "event" && m.event === "stopped") {
          this.stopped.fire({ session, seq: stoppedSeq(m.body) });
        }
      },
    };
  }

  dispose(): void {
    this.stopped.dispose();
  }
}
