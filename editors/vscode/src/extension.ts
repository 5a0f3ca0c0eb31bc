// The extension's entry point: it wires the language client, the `membrane`
// debug type, the timeline view and the program commands together. The
// logic that needs no editor lives in cli.ts, events.ts and program.ts.

import * as os from "node:os";
import * as vscode from "vscode";
import { Actions } from "./actions";
import { ProgramClient } from "./client";
import { resolveBinary } from "./cli";
import { AdapterFactory, ConfigurationProvider, debugType, StopTracker } from "./debug";
import { seekCommand, TimelineProvider, timelineViewId } from "./timeline";

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("membrane-dev", { log: true });
  const binary = () =>
    resolveBinary(
      vscode.workspace.getConfiguration("membrane").get<string>("path"),
      process.env.PATH ?? "",
      os.homedir(),
    );

  const tracker = new StopTracker();
  const timeline = new TimelineProvider(log);
  const actions = new Actions(binary, () => client.programFolders(), log, tracker.onDidStop);
  const guarded =
    (fn: (...args: unknown[]) => Promise<void>) =>
    async (...args: unknown[]) => {
      try {
        await fn(...args);
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        void vscode.window.showErrorMessage(text);
      }
    };

  // membrane.run is the extension's own command unless the language server
  // says it executes it too: then the language client registers the command
  // and the middleware below takes it over, so that a lens asks for the
  // arguments and the call runs through `membrane-dev call` either way.
  const runCommand = "membrane.run";
  let ownRun: vscode.Disposable | undefined;
  const claimRun = () => {
    ownRun ??= vscode.commands.registerCommand(
      runCommand,
      guarded((d, a, args) => actions.run(d, a, args)),
    );
  };
  const releaseRun = () => {
    ownRun?.dispose();
    ownRun = undefined;
  };
  const client = new ProgramClient(binary, log, {
    beforeStart: releaseRun,
    afterStart: (commands) => {
      if (!commands.includes(runCommand)) claimRun();
    },
    afterStop: claimRun,
    executeCommand: async (command, args, next) => {
      if (command !== runCommand) return next(command, args);
      const [d, a, given] = args;
      await actions.run(d, a, given);
      return undefined;
    },
  });
  claimRun();
  context.subscriptions.push(log, client, timeline, tracker, { dispose: releaseRun });

  // The other program commands; the code lenses pass [dir, action, ...].
  context.subscriptions.push(
    vscode.commands.registerCommand(
      "membrane.debug",
      guarded((d, a, q) => actions.debug(d, a, q)),
    ),
    vscode.commands.registerCommand(
      "membrane.replay",
      guarded((d) => actions.replay(d)),
    ),
    vscode.commands.registerCommand(
      "membrane.log",
      guarded((d, a) => actions.log(d, a)),
    ),
    vscode.commands.registerCommand(
      "membrane.exitNode",
      guarded(() => actions.exitNode()),
    ),
  );

  // Debugging and the timeline.
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(debugType, new AdapterFactory(binary)),
    vscode.debug.registerDebugConfigurationProvider(debugType, new ConfigurationProvider()),
    vscode.debug.registerDebugAdapterTrackerFactory(debugType, tracker),
    vscode.window.registerTreeDataProvider(timelineViewId, timeline),
    vscode.commands.registerCommand("membrane.timeline.refresh", () => timeline.refresh()),
    vscode.commands.registerCommand(seekCommand, (seq: unknown) => timeline.seek(seq)),
    tracker.onDidStop(({ session, seq }) => timeline.showStop(session, seq)),
    vscode.debug.onDidChangeActiveDebugSession(() => timeline.refresh(true)),
    vscode.debug.onDidTerminateDebugSession(() => timeline.refresh(true)),
  );

  // The language server follows the program folders as they come and go.
  const watcher = vscode.workspace.createFileSystemWatcher("**/{index.ts,index.js,.membrane}");
  const rescan = () => void client.refresh();
  context.subscriptions.push(
    watcher,
    watcher.onDidCreate(rescan),
    watcher.onDidDelete(rescan),
    watcher.onDidChange(rescan),
    vscode.workspace.onDidChangeWorkspaceFolders(rescan),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("membrane.path")) {
        void client.restart();
      }
    }),
  );
  rescan();
}

export function deactivate(): void {}
