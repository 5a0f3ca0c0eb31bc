import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import {
  exportedActions,
  importsMembrane,
  isProgramFolder,
  programFolderOf,
  stripComments,
} from "../src/program";

const made: string[] = [];
after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

// tree makes a folder holding files (a name ending in / is a folder).
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "membrane-program-"));
  made.push(root);
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(root, name);
    if (name.endsWith("/")) {
      fs.mkdirSync(p, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, text);
    }
  }
  return root;
}

test("importsMembrane finds every form of importing the runtime", () => {
  const yes = [
    'import { state } from "membrane";',
    "import {state} from'membrane'",
    'import * as m from "membrane"',
    'import "membrane";',
    'const m = await import("membrane")',
    'const { sleep } = require( "membrane" )',
    'import {\n  state,\n  root,\n} from "membrane";',
  ];
  for (const src of yes) assert.equal(importsMembrane(src), true, src);
  const no = [
    'import x from "membrane-extra";',
    '// import { state } from "membrane";',
    '/* import { state } from "membrane"; */',
    'const s = "from membrane";',
    'import { x } from "./membrane";',
  ];
  for (const src of no) assert.equal(importsMembrane(src), false, src);
});

test("stripComments keeps strings that look like comments", () => {
  assert.equal(stripComments('const u = "http://x"; // note'), 'const u = "http://x"; ');
  assert.equal(stripComments("a /* b */ c"), "a   c");
  assert.equal(stripComments("const s = 'it\\'s // here';"), "const s = 'it\\'s // here';");
});

test("isProgramFolder needs an entry file that imports membrane or a log", () => {
  const root = tree({
    "ts/index.ts": 'import { state } from "membrane";\n',
    "js/index.js": 'import { sleep } from "membrane";\n',
    "logged/index.js": "export function ping() { return 1; }\n",
    "logged/.membrane/": "",
    "plain/index.ts": "export const x = 1;\n",
    "noentry/main.ts": 'import { state } from "membrane";\n',
    "noentry/.membrane/": "",
  });
  assert.equal(isProgramFolder(path.join(root, "ts")), true);
  assert.equal(isProgramFolder(path.join(root, "js")), true);
  assert.equal(isProgramFolder(path.join(root, "logged")), true);
  assert.equal(isProgramFolder(path.join(root, "plain")), false);
  assert.equal(isProgramFolder(path.join(root, "noentry")), false);
  assert.equal(isProgramFolder(path.join(root, "missing")), false);
});

test("programFolderOf finds the nearest program above a file, within the workspace", () => {
  const root = tree({
    "app/index.ts": 'import { state } from "membrane";\n',
    "app/lib/util.ts": "export const x = 1;\n",
    "app/node_modules/pkg/index.js": 'require("membrane")\n',
    "other/readme.md": "",
  });
  const app = path.join(root, "app");
  assert.equal(programFolderOf(path.join(app, "index.ts"), root), app);
  assert.equal(programFolderOf(path.join(app, "lib", "util.ts"), root), app);
  assert.equal(programFolderOf(path.join(app, "node_modules", "pkg", "index.js"), root), app);
  assert.equal(programFolderOf(path.join(root, "other", "readme.md"), root), undefined);
  // The search stops at the workspace folder even if a program is above it.
  assert.equal(programFolderOf(path.join(app, "lib", "util.ts"), path.join(app, "lib")), undefined);
});

test("exportedActions lists top-level exports and Root methods once", () => {
  const src = `
import { state, root } from "membrane";
export function increment({ by = 1 }: { by?: number }) { return by; }
export async function temperature({ city }) { return city; }
export const double = (n) => n * 2;
export const halve = async function (n) { return n / 2; };
export const limit = 10;
// export function commented() {}
function helper() {}
export { helper as assist };
export const Root = {
  ping(args, ctx) { return { nested: () => 1 }; },
  async pong({ a }: { a: { b: number } }) {},
  endpoint: (req) => "ok",
  increment() {},
  label: "not an action",
};
`;
  assert.deepEqual(exportedActions(src), [
    "increment",
    "temperature",
    "double",
    "halve",
    "assist",
    "ping",
    "pong",
    "endpoint",
  ]);
});
