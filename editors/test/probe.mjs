// Asks a membrane-dev server whether it is there: `node probe.mjs lsp BIN`
// sends the language server an initialize request, `node probe.mjs dap BIN`
// the debug adapter one. It prints the capabilities and exits 0 when the
// server answered in time, 1 otherwise.

import { spawn } from "node:child_process";

const [kind, bin] = process.argv.slice(2);
if ((kind !== "lsp" && kind !== "dap") || !bin) {
  console.error("usage: node probe.mjs lsp|dap BIN");
  process.exit(2);
}

const request =
  kind === "lsp"
    ? {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { processId: process.pid, rootUri: null, capabilities: {} },
      }
    : {
        seq: 1,
        type: "request",
        command: "initialize",
        arguments: {
          adapterID: "membrane",
          linesStartAt1: true,
          columnsStartAt1: true,
          pathFormat: "path",
        },
      };

const child = spawn(bin, [kind], { stdio: ["pipe", "pipe", "pipe"] });
let out = Buffer.alloc(0);
let err = "";
const timer = setTimeout(() => finish(1, `no answer from ${bin} ${kind} in 15 s`), 15000);

function finish(code, text) {
  clearTimeout(timer);
  if (text) console.log(text);
  child.kill();
  process.exit(code);
}

child.on("error", (e) => finish(1, `${bin} ${kind} did not start: ${e.message}`));
child.on("exit", (code) => {
  if (out.length === 0)
    finish(1, `${bin} ${kind} exited with ${code}: ${err.trim().split("\n")[0]}`);
});
child.stderr.on("data", (d) => (err += d));
child.stdout.on("data", (d) => {
  out = Buffer.concat([out, d]);
  // Messages are framed with a Content-Length header, as both protocols do.
  for (;;) {
    const head = out.indexOf("\r\n\r\n");
    if (head < 0) return;
    const m = /Content-Length:\s*(\d+)/i.exec(out.subarray(0, head).toString());
    if (!m) return finish(1, "a message without Content-Length");
    const end = head + 4 + Number(m[1]);
    if (out.length < end) return;
    const msg = JSON.parse(out.subarray(head + 4, end).toString());
    out = out.subarray(end);
    if (kind === "lsp" && msg.id === 1) {
      if (msg.error) return finish(1, `initialize failed: ${msg.error.message}`);
      return finish(0, JSON.stringify(msg.result?.capabilities ?? {}));
    }
    if (kind === "dap" && msg.type === "response" && msg.command === "initialize") {
      if (!msg.success) return finish(1, `initialize failed: ${msg.message}`);
      return finish(0, JSON.stringify(msg.body ?? {}));
    }
  }
});
child.stdin.write(frame(request));

function frame(msg) {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}
