import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import {
  ArgsError,
  BinaryNotFoundError,
  callCommand,
  dapCommand,
  displayCommand,
  exitNodeCommand,
  isActionName,
  lspCommand,
  parseActionArgs,
  replayCommand,
  resolveBinary,
} from "../src/cli";

test("parseActionArgs accepts JSON objects and empty input", () => {
  assert.equal(parseActionArgs(""), "{}");
  assert.equal(parseActionArgs("   \n"), "{}");
  assert.equal(parseActionArgs('{ "by": 2 }'), '{"by":2}');
  assert.equal(parseActionArgs('{"nested": {"a": [1, "x"]}}'), '{"nested":{"a":[1,"x"]}}');
});

test("parseActionArgs refuses what is not a JSON object, saying why", () => {
  const cases: Array<[string, RegExp]> = [
    ["[1, 2]", /must be a JSON object.*not an array/],
    ["42", /must be a JSON object.*not number/],
    ['"text"', /not string/],
    ["null", /not null/],
    ["{by: 2}", /not valid JSON/],
    ["{", /not valid JSON/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseActionArgs(input),
      (err: unknown) => {
        assert.ok(err instanceof ArgsError, input);
        assert.match(err.message, message);
        assert.ok(err.message.endsWith("."), "one sentence");
        return true;
      },
    );
  }
});

test("isActionName accepts identifiers only", () => {
  for (const name of ["increment", "_private", "$x", "a1"]) assert.equal(isActionName(name), true);
  for (const name of ["", "1a", "a-b", "a b", "a.b"]) assert.equal(isActionName(name), false);
});

test("command lines are argument lists, never shell text", () => {
  assert.deepEqual(callCommand("/bin/m", "/p/my app", "increment", '{"by":2}'), {
    command: "/bin/m",
    args: ["call", "--dir", "/p/my app", "increment", '{"by":2}'],
  });
  assert.deepEqual(replayCommand("m", "/p"), { command: "m", args: ["replay", "--dir", "/p"] });
  assert.deepEqual(exitNodeCommand("m"), { command: "m", args: ["exit-node"] });
  assert.deepEqual(exitNodeCommand("m", " "), { command: "m", args: ["exit-node"] });
  assert.deepEqual(exitNodeCommand("m", "127.0.0.1:9090"), {
    command: "m",
    args: ["exit-node", "--listen", "127.0.0.1:9090"],
  });
  assert.deepEqual(dapCommand("m"), { command: "m", args: ["dap"] });
  assert.deepEqual(lspCommand("m"), { command: "m", args: ["lsp"] });
});

test("displayCommand quotes only what a shell needs quoted", () => {
  const line = callCommand("membrane-dev", "/p/my app", "increment", `{"by":"it's"}`);
  assert.equal(
    displayCommand(line),
    `membrane-dev call --dir '/p/my app' increment '{"by":"it'\\''s"}'`,
  );
});

test("resolveBinary prefers the setting, then PATH, and says what to do otherwise", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "membrane-bin-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, "membrane-dev");
  fs.writeFileSync(bin, "#!/bin/sh\n", { mode: 0o755 });
  const notExec = path.join(dir, "plain");
  fs.writeFileSync(notExec, "", { mode: 0o644 });
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "membrane-empty-"));
  after(() => fs.rmSync(empty, { recursive: true, force: true }));

  assert.equal(resolveBinary("", `${empty}${path.delimiter}${dir}`), bin);
  assert.equal(resolveBinary(undefined, dir), bin);
  assert.equal(resolveBinary(bin, ""), bin);
  assert.equal(resolveBinary("~/membrane-dev", "", dir), bin);
  assert.throws(
    () => resolveBinary("", empty),
    (err: unknown) => {
      assert.ok(err instanceof BinaryNotFoundError);
      assert.match(err.message, /not found on PATH.*membrane\.path/);
      return true;
    },
  );
  assert.throws(() => resolveBinary(notExec, dir), /membrane\.path setting names .*plain/);
  assert.throws(() => resolveBinary(dir, ""), /not an executable file/);
});
