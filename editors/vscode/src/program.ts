// Program folders: which folders hold a membrane-dev program, and what
// actions a program exports. Nothing here depends on VS Code, so Node's test
// runner covers it.

import * as fs from "node:fs";
import * as path from "node:path";

/** The entry files a program folder may hold, in the order the runtime tries them. */
export const entryFiles = ["index.ts", "index.js"] as const;

/** The folder under a program that holds its log. */
export const logFolder = ".membrane";

/**
 * importsMembrane tells whether source text imports the runtime module
 * "membrane", statically, dynamically or through require. Comments are
 * ignored so that a commented-out import does not count.
 */
export function importsMembrane(source: string): boolean {
  const code = stripComments(source);
  const patterns = [
    /\bfrom\s*["']membrane["']/,
    /\bimport\s*["']membrane["']/,
    /\bimport\s*\(\s*["']membrane["']\s*\)/,
    /\brequire\s*\(\s*["']membrane["']\s*\)/,
  ];
  return patterns.some((p) => p.test(code));
}

/**
 * stripComments removes line and block comments, leaving string literals
 * alone. It is a scanner, not a parser: template literal substitutions are
 * treated as part of the template, which is enough to find imports.
 */
export function stripComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
      out += " ";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      const start = i;
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === "\\") i++;
        i++;
      }
      i++;
      out += source.slice(start, i);
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** The entry file of a program folder, or undefined when it has none. */
export function entryFile(dir: string): string | undefined {
  for (const name of entryFiles) {
    const file = path.join(dir, name);
    if (isFile(file)) return file;
  }
  return undefined;
}

/**
 * isProgramFolder tells whether dir holds a program: an index.ts or index.js
 * that imports "membrane", or any entry file beside a .membrane folder.
 */
export function isProgramFolder(dir: string): boolean {
  const entry = entryFile(dir);
  if (entry === undefined) return false;
  if (isDirectory(path.join(dir, logFolder))) return true;
  for (const name of entryFiles) {
    const file = path.join(dir, name);
    if (isFile(file) && importsMembrane(readText(file))) return true;
  }
  return false;
}

/**
 * programFolderOf finds the program folder that holds file: the nearest
 * folder, from the file's own up to stopAt (inclusive), that is a program
 * folder. Folders under node_modules never count: packages are not programs.
 */
export function programFolderOf(file: string, stopAt?: string): string | undefined {
  let dir = path.dirname(path.resolve(file));
  const stop = stopAt === undefined ? undefined : path.resolve(stopAt);
  for (;;) {
    if (!dir.split(path.sep).includes("node_modules") && isProgramFolder(dir)) {
      return dir;
    }
    if (dir === stop) return undefined;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    if (stop !== undefined && !isInside(parent, stop)) return undefined;
    dir = parent;
  }
}

/** isInside tells whether child is dir itself or a path under it. */
export function isInside(child: string, dir: string): boolean {
  const rel = path.relative(dir, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

// ident matches a JavaScript identifier (ASCII ones: enough for action names).
const ident = String.raw`[A-Za-z_$][\w$]*`;
// functionValue matches the start of a function value: `function`, an arrow
// with parenthesised parameters, or an arrow with one bare parameter.
const functionValue = String.raw`(?:function\b|\([^)]*\)\s*=>|${ident}\s*=>)`;

/**
 * exportedActions lists the action names a program's entry source exports:
 * exported functions and function-valued constants, and the methods of an
 * exported Root object. Top-level exports come first; a name is listed once.
 */
export function exportedActions(source: string): string[] {
  const code = stripComments(source);
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };

  const fnExport = new RegExp(String.raw`\bexport\s+(?:async\s+)?function\s*\*?\s*(${ident})`, "g");
  const constExport = new RegExp(
    String.raw`\bexport\s+(?:const|let|var)\s+(${ident})\s*=\s*(?:async\s+)?` + functionValue,
    "g",
  );
  for (const re of [fnExport, constExport]) {
    for (const m of code.matchAll(re)) add(m[1]);
  }
  const listExport = /\bexport\s*\{([^}]*)\}/g;
  for (const m of code.matchAll(listExport)) {
    for (const part of m[1].split(",")) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (name && name !== "default" && name !== "Root") add(name);
    }
  }

  const root = /\bexport\s+const\s+Root\s*(?::[^=]+)?=\s*\{/.exec(code);
  if (root) {
    for (const name of objectMethods(code, root.index + root[0].length)) add(name);
  }
  return names.filter((n) => n !== "Root");
}

// objectMethods lists the keys at the top level of the object literal whose
// body starts at offset start (just after its "{"), for keys whose values
// are methods or functions.
function objectMethods(code: string, start: number): string[] {
  // A method `name(`, or a key whose value starts a function: `name: (`,
  // `name: function`, `name: async x =>`.
  const methodStart = new RegExp(
    String.raw`^\s*(?:async\s+)?\*?\s*(${ident})\s*` +
      String.raw`(?:\(|:\s*(?:async\s+)?(?:function\b|\(|${ident}\s*=>))$`,
  );
  const names: string[] = [];
  let depth = 0;
  let segment = "";
  for (let i = start; i < code.length; i++) {
    const c = code[i];
    if (c === "}" || c === ")" || c === "]") {
      if (depth === 0) break;
      depth--;
      continue;
    }
    if (depth === 0) {
      segment = c === "," ? "" : segment + c;
      const m = methodStart.exec(segment);
      if (m && !names.includes(m[1])) names.push(m[1]);
    }
    if (c === "{" || c === "(" || c === "[") depth++;
  }
  return names;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readText(p: string): string {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return "";
  }
}
