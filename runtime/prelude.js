// The runtime's globals and the "membrane" module, evaluated once in every
// fresh goja runtime before any program code. `host` is the Go side
// (host.go); it is reachable only from this closure. Everything here must be
// deterministic: it runs again, identically, on every replay.
(function (host, global) {
  "use strict";

  // ---- tagged encoding: values JSON cannot hold ---------------------------
  // Plain JSON values pass through. Anything else becomes an object with a
  // "$type" member; objects referenced more than once carry "$id" and are
  // referred to by {"$ref": id}. The same form is used by `call`, `log
  // --json`, structuredClone and checkpoints.

  const typedArrays = {
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  };
  const objectProto = Object.prototype;

  function describePath(path) {
    return path || "the value";
  }

  function encode(root, strict, rootPath) {
    // First pass: which objects are reached more than once.
    const seen = new Set();
    const shared = new Set();
    (function walk(v) {
      if (v === null || (typeof v !== "object" && typeof v !== "function")) return;
      if (seen.has(v)) { shared.add(v); return; }
      seen.add(v);
      if (typeof v === "function") return;
      if (v instanceof Map) { for (const [k, x] of v) { walk(k); walk(x); } return; }
      if (v instanceof Set) { for (const x of v) walk(x); return; }
      if (Array.isArray(v)) { for (let i = 0; i < v.length; i++) walk(v[i]); return; }
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date ||
          v instanceof RegExp) return;
      for (const k of Object.keys(v)) walk(v[k]);
    })(root);

    const ids = new Map();
    let nextId = 1;
    function fail(path, what) {
      throw new TypeError(describePath(path) + " holds " + what + ", which cannot be kept");
    }
    function enc(v, path) {
      switch (typeof v) {
        case "undefined": return { $type: "undefined" };
        case "number":
          if (v !== v) return { $type: "number", value: "NaN" };
          if (v === Infinity) return { $type: "number", value: "Infinity" };
          if (v === -Infinity) return { $type: "number", value: "-Infinity" };
          if (v === 0 && 1 / v < 0) return { $type: "number", value: "-0" };
          return v;
        case "string": case "boolean": return v;
        case "bigint": return { $type: "bigint", value: v.toString() };
        case "symbol":
          if (strict) fail(path, "a symbol");
          return { $type: "symbol", description: v.description === undefined ? null : v.description };
        case "function":
          if (strict) fail(path, "a function");
          return { $type: "function", name: v.name };
      }
      if (v === null) return null;
      if (ids.has(v)) return { $ref: ids.get(v) };
      let id;
      if (shared.has(v)) { id = nextId++; ids.set(v, id); }
      const tagged = (t) => { if (id !== undefined) t.$id = id; return t; };

      if (Array.isArray(v)) {
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) out[i] = enc(v[i], path + "[" + i + "]");
        return id === undefined ? out : tagged({ $type: "array", value: out });
      }
      if (v instanceof Map) {
        const entries = [];
        let i = 0;
        for (const [k, x] of v) {
          entries.push([enc(k, path + ".<key " + i + ">"), enc(x, path + ".get(" + i + ")")]);
          i++;
        }
        return tagged({ $type: "map", entries });
      }
      if (v instanceof Set) {
        const values = [];
        let i = 0;
        for (const x of v) values.push(enc(x, path + ".<value " + i++ + ">"));
        return tagged({ $type: "set", values });
      }
      if (v instanceof Date) {
        const t = v.getTime();
        return tagged({ $type: "date", value: t === t ? v.toISOString() : "Invalid Date" });
      }
      if (v instanceof RegExp) return tagged({ $type: "regexp", source: v.source, flags: v.flags });
      if (v instanceof ArrayBuffer) return tagged({ $type: "ArrayBuffer", base64: host.b64(v) });
      if (ArrayBuffer.isView(v)) {
        const name = v.constructor && v.constructor.name;
        if (!typedArrays[name]) {
          if (strict) fail(path, "a " + name);
          return tagged({ $type: "DataView" });
        }
        const bytes = v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
        return tagged({ $type: name, base64: host.b64(bytes) });
      }
      if (v instanceof Error) {
        return tagged({ $type: "error", name: v.name, message: v.message,
          stack: host.mapStack(String(v.stack || "")) });
      }
      if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) {
        const what = v instanceof Promise ? "a Promise" : "a " + v.constructor.name;
        if (strict) fail(path, what);
        return tagged({ $type: v.constructor.name.toLowerCase() });
      }
      const proto = Object.getPrototypeOf(v);
      const out = {};
      for (const k of Object.keys(v)) out[k] = enc(v[k], path + "." + k);
      if (proto !== objectProto && proto !== null) {
        const ctor = proto.constructor;
        return tagged({ $type: "object", class: (ctor && ctor.name) || null, value: out });
      }
      if (id !== undefined || "$type" in out || "$ref" in out) {
        return tagged({ $type: "object", value: out });
      }
      return out;
    }
    return enc(root, rootPath || "");
  }

  function decode(root, classes) {
    const byId = new Map();
    function dec(n) {
      if (n === null || typeof n !== "object") return n;
      if (Array.isArray(n)) return n.map(dec);
      if (typeof n.$ref === "number" && Object.keys(n).length === 1) {
        if (!byId.has(n.$ref)) throw new TypeError("a $ref to an unknown $id " + n.$ref);
        return byId.get(n.$ref);
      }
      const keep = (v) => { if (n.$id !== undefined) byId.set(n.$id, v); return v; };
      switch (n.$type) {
        case undefined: {
          const o = {};
          for (const k of Object.keys(n)) o[k] = dec(n[k]);
          return o;
        }
        case "undefined": return undefined;
        case "number": return Number(n.value === "-0" ? -0 : n.value);
        case "bigint": return BigInt(n.value);
        case "symbol": return Symbol(n.description === null ? undefined : n.description);
        case "function": return undefined;
        case "array": {
          const a = keep([]);
          for (const x of n.value) a.push(dec(x));
          return a;
        }
        case "map": {
          const m = keep(new Map());
          for (const [k, x] of n.entries) m.set(dec(k), dec(x));
          return m;
        }
        case "set": {
          const s = keep(new Set());
          for (const x of n.values) s.add(dec(x));
          return s;
        }
        case "date": return keep(new Date(n.value === "Invalid Date" ? NaN : n.value));
        case "regexp": return keep(new RegExp(n.source, n.flags));
        case "ArrayBuffer": return keep(host.unb64(n.base64));
        case "error": {
          const E = typeof global[n.name] === "function" ? global[n.name] : Error;
          const e = keep(new E(n.message));
          if (!(e instanceof Error)) return e;
          Object.defineProperty(e, "stack", { value: n.stack, writable: true, configurable: true });
          return e;
        }
        case "object": {
          const C = n.class && typeof classes === "function" ? classes(n.class) : undefined;
          const o = keep(C ? Object.create(C.prototype) : {});
          if (!C && n.class && Array.isArray(classes)) classes.push([o, n.class]);
          for (const k of Object.keys(n.value)) o[k] = dec(n.value[k]);
          return o;
        }
        default:
          if (typedArrays[n.$type]) return keep(new typedArrays[n.$type](host.unb64(n.base64)));
          return keep({});
      }
    }
    return dec(root);
  }

  // plainJSON says whether JSON.stringify alone keeps v exactly: the common
  // case of a result, checked without building anything.
  function plainJSON(v, depth) {
    switch (typeof v) {
      case "string": case "boolean": return true;
      case "number": return v === v && v !== Infinity && v !== -Infinity && (v !== 0 || 1 / v > 0);
      case "object":
        if (v === null) return true;
        if (depth > 2) return false;
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) if (!plainJSON(v[i], depth + 1)) return false;
          return true;
        }
        if (Object.getPrototypeOf(v) !== objectProto) return false;
        const keys = Object.keys(v);
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i];
          if (k === "$type" || k === "$ref" || !plainJSON(v[k], depth + 1)) return false;
        }
        return true;
    }
    return false;
  }

  function toJSON(v) {
    // A finite number prints the same in JS and in JSON.
    if (typeof v === "number" && v === v && v !== Infinity && v !== -Infinity &&
        (v !== 0 || 1 / v > 0)) return "" + v;
    if (plainJSON(v, 0)) return JSON.stringify(v);
    return JSON.stringify(encode(v, false));
  }
  function fromJSON(text, classes) {
    const raw = JSON.parse(text);
    if (text.indexOf('"$') < 0) return raw;
    return decode(raw, classes);
  }

  // ---- console -------------------------------------------------------------

  function show(v, depth) {
    if (typeof v === "string") return depth === 0 ? v : JSON.stringify(v);
    if (typeof v === "bigint") return v + "n";
    if (typeof v === "undefined" || typeof v === "number" || typeof v === "boolean" ||
        typeof v === "symbol" || v === null) return String(v);
    if (typeof v === "function") return "[Function: " + (v.name || "anonymous") + "]";
    if (v instanceof Error) return v.stack ? host.mapStack(String(v.stack)) : String(v);
    if (depth > 2) return Array.isArray(v) ? "[Array]" : "[Object]";
    if (v instanceof Date) return v.getTime() === v.getTime() ? v.toISOString() : "Invalid Date";
    if (v instanceof Map) {
      return "Map(" + v.size + ") {" + Array.from(v, ([k, x]) =>
        " " + show(k, depth + 1) + " => " + show(x, depth + 1)).join(",") + (v.size ? " }" : "}");
    }
    if (v instanceof Set) {
      return "Set(" + v.size + ") {" + Array.from(v, (x) => " " + show(x, depth + 1)).join(",") +
        (v.size ? " }" : "}");
    }
    if (Array.isArray(v)) return "[" + v.map((x) => show(x, depth + 1)).join(", ") + "]";
    const keys = Object.keys(v);
    if (keys.length === 0) return "{}";
    return "{ " + keys.map((k) => k + ": " + show(v[k], depth + 1)).join(", ") + " }";
  }

  function format(args) {
    return Array.prototype.map.call(args, (a) => show(a, 0)).join(" ");
  }

  const console = {
    log() { host.console("log", format(arguments)); },
    info() { host.console("info", format(arguments)); },
    warn() { host.console("warn", format(arguments)); },
    error() { host.console("error", format(arguments)); },
    debug() { host.console("debug", format(arguments)); },
  };

  // ---- timers on the program's clock ---------------------------------------

  const timers = new Map();

  function setTimer(fn, ms, args, repeat) {
    if (typeof fn !== "function") throw new TypeError("the callback must be a function");
    ms = Number(ms);
    if (!(ms >= 0)) ms = 0;
    const id = host.setTimer(ms, repeat);
    timers.set(id, { fn, args, repeat });
    return id;
  }
  function clearTimer(id) {
    if (timers.delete(id)) host.clearTimer(id);
  }
  function fireTimer(id) {
    const t = timers.get(id);
    if (!t) return;
    if (!t.repeat) timers.delete(id);
    t.fn.apply(undefined, t.args);
  }

  function sleep(seconds) {
    return new Promise((resolve) => setTimer(resolve, Number(seconds) * 1000, [], false));
  }

  // ---- text, bytes and base64 -----------------------------------------------

  function bytesOf(v) {
    if (v instanceof ArrayBuffer) return v;
    if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
    throw new TypeError("expected an ArrayBuffer or a typed array");
  }

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s) { return new Uint8Array(host.utf8Encode(s === undefined ? "" : String(s))); }
  }
  class TextDecoder {
    constructor(label) {
      label = label === undefined ? "utf-8" : String(label).toLowerCase();
      if (label !== "utf-8" && label !== "utf8") {
        throw new RangeError("only utf-8 is supported by TextDecoder here");
      }
    }
    get encoding() { return "utf-8"; }
    decode(b) { return b === undefined ? "" : host.utf8Decode(bytesOf(b)); }
  }

  // ---- Headers, Request, Response -------------------------------------------

  class Headers {
    constructor(init) {
      this._map = new Map();
      if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
      else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
      else if (init) for (const k of Object.keys(init)) this.append(k, init[k]);
    }
    append(k, v) {
      k = String(k).toLowerCase();
      v = String(v);
      const cur = this._map.get(k);
      this._map.set(k, cur === undefined ? v : cur + ", " + v);
    }
    set(k, v) { this._map.set(String(k).toLowerCase(), String(v)); }
    get(k) { const v = this._map.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    has(k) { return this._map.has(String(k).toLowerCase()); }
    delete(k) { this._map.delete(String(k).toLowerCase()); }
    forEach(fn, self) {
      for (const [k, v] of this.entries()) fn.call(self, v, k, this);
    }
    *entries() { yield* Array.from(this._map.entries()).sort((a, b) => (a[0] < b[0] ? -1 : 1)); }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
  }

  function bodyBytes(body) {
    if (body === undefined || body === null) return null;
    if (typeof body === "string") return host.utf8Encode(body);
    if (body instanceof URLSearchParams) return host.utf8Encode(body.toString());
    return bytesOf(body);
  }
  function defaultType(body) {
    if (typeof body === "string") return "text/plain;charset=UTF-8";
    if (body instanceof URLSearchParams) return "application/x-www-form-urlencoded;charset=UTF-8";
    return null;
  }

  class Body {
    _initBody(body, headers) {
      this._bytes = bodyBytes(body);
      this.bodyUsed = false;
      const t = defaultType(body);
      if (t && !headers.has("content-type")) headers.set("content-type", t);
    }
    _take() {
      if (this.bodyUsed) return Promise.reject(new TypeError("the body has already been read"));
      this.bodyUsed = true;
      return Promise.resolve(this._bytes || new ArrayBuffer(0));
    }
    arrayBuffer() { return this._take(); }
    bytes() { return this._take().then((b) => new Uint8Array(b)); }
    text() { return this._take().then((b) => host.utf8Decode(b)); }
    json() { return this.text().then((t) => JSON.parse(t)); }
  }

  class Request extends Body {
    constructor(input, init) {
      super();
      init = init || {};
      if (input instanceof Request) {
        this.url = input.url;
        this.method = input.method;
        this.headers = new Headers(input.headers);
        this.signal = input.signal;
        if (init.body === undefined && input._bytes) init = Object.assign({ body: input._bytes }, init);
      } else {
        this.url = new URL(String(input)).href;
        this.method = "GET";
        this.headers = new Headers();
        this.signal = null;
      }
      if (init.method !== undefined) this.method = String(init.method).toUpperCase();
      if (init.headers !== undefined) this.headers = new Headers(init.headers);
      if (init.signal !== undefined) this.signal = init.signal;
      this.redirect = init.redirect || "follow";
      if (init.body !== undefined && init.body !== null &&
          (this.method === "GET" || this.method === "HEAD")) {
        throw new TypeError("a " + this.method + " request cannot have a body");
      }
      this._initBody(init.body, this.headers);
    }
    clone() { return new Request(this); }
  }

  const statusTexts = { 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
    302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

  class Response extends Body {
    constructor(body, init) {
      super();
      init = init || {};
      this.status = init.status === undefined ? 200 : Number(init.status);
      this.statusText = init.statusText !== undefined ? String(init.statusText)
        : (statusTexts[this.status] || "");
      this.headers = new Headers(init.headers);
      this.url = init.url || "";
      this.redirected = !!init.redirected;
      this.type = "default";
      this._initBody(body, this.headers);
    }
    get ok() { return this.status >= 200 && this.status < 300; }
    clone() {
      const r = new Response(null, this);
      r._bytes = this._bytes;
      return r;
    }
    static json(data, init) {
      const h = new Headers((init && init.headers) || {});
      if (!h.has("content-type")) h.set("content-type", "application/json");
      return new Response(JSON.stringify(data), Object.assign({}, init, { headers: h }));
    }
  }

  // ---- AbortController -------------------------------------------------------

  class AbortSignal {
    constructor() { this.aborted = false; this.reason = undefined; this._listeners = []; this.onabort = null; }
    addEventListener(type, fn) { if (type === "abort") this._listeners.push(fn); }
    removeEventListener(type, fn) { this._listeners = this._listeners.filter((f) => f !== fn); }
    throwIfAborted() { if (this.aborted) throw this.reason; }
    _abort(reason) {
      if (this.aborted) return;
      this.aborted = true;
      this.reason = reason === undefined ? abortError("This operation was aborted") : reason;
      const ev = { type: "abort", target: this };
      if (typeof this.onabort === "function") this.onabort(ev);
      for (const fn of this._listeners.slice()) fn(ev);
    }
    static abort(reason) { const s = new AbortSignal(); s._abort(reason); return s; }
    static timeout(ms) {
      const s = new AbortSignal();
      setTimer(() => s._abort(abortError("The operation timed out", "TimeoutError")), ms, [], false);
      return s;
    }
  }
  class AbortController {
    constructor() { this.signal = new AbortSignal(); }
    abort(reason) { this.signal._abort(reason); }
  }
  function abortError(message, name) {
    const e = new Error(message);
    e.name = name || "AbortError";
    return e;
  }

  // ---- fetch -----------------------------------------------------------------

  const fetches = new Map();

  function fetch(input, init) {
    return new Promise((resolve, reject) => {
      const req = new Request(input, init);
      const signal = req.signal;
      if (signal && signal.aborted) { reject(signal.reason); return; }
      const headers = [];
      req.headers.forEach((v, k) => headers.push([k, v]));
      const id = host.fetch(req.method, req.url, headers, req._bytes, req.redirect);
      const entry = { resolve, reject };
      fetches.set(id, entry);
      if (signal) {
        signal.addEventListener("abort", () => {
          if (!fetches.delete(id)) return;
          host.abortFetch(id);
          reject(signal.reason);
        });
      }
    });
  }

  function deliverFetch(id, ok, status, statusText, url, headers, body, message) {
    const entry = fetches.get(id);
    if (!entry) return;
    fetches.delete(id);
    if (!ok) { entry.reject(new TypeError("fetch failed: " + message)); return; }
    const res = new Response(null, { status, statusText, headers, url });
    res._bytes = body;
    res.redirected = false;
    entry.resolve(res);
  }

  // ---- crypto -----------------------------------------------------------------

  const crypto = {
    getRandomValues(arr) {
      if (!ArrayBuffer.isView(arr)) throw new TypeError("expected a typed array");
      if (arr.byteLength > 65536) throw new RangeError("at most 65536 bytes at a time");
      const bytes = new Uint8Array(host.randomBytes(arr.byteLength));
      new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(bytes);
      return arr;
    },
    randomUUID() { return host.randomUUID(); },
  };

  // ---- the program's actions --------------------------------------------------

  let current = { exports: {} };

  function findAction(name) {
    const ex = current.exports;
    if (name !== "Root" && Object.prototype.hasOwnProperty.call(ex, name) &&
        typeof ex[name] === "function") return [ex[name], undefined];
    const R = ex.Root;
    if (R && typeof R === "object" && typeof R[name] === "function") return [R[name], R];
    return null;
  }

  function classByName(name) {
    const ex = current.exports;
    if (Object.prototype.hasOwnProperty.call(ex, name) && typeof ex[name] === "function") {
      return ex[name];
    }
    return undefined;
  }

  function actionNames() {
    const ex = current.exports;
    const names = [];
    for (const k of Object.keys(ex)) if (k !== "Root" && typeof ex[k] === "function") names.push(k);
    const R = ex.Root;
    if (R && typeof R === "object") {
      for (const k of Object.keys(R)) if (typeof R[k] === "function" && names.indexOf(k) < 0) names.push(k);
    }
    return names;
  }

  function settleWith(callId, name, r) {
    if (r !== null && (typeof r === "object" || typeof r === "function") &&
        typeof r.then === "function") {
      host.pending(callId, name);
      Promise.resolve(r).then((v) => host.settle(callId, true, toJSON(v)),
        (e) => host.settle(callId, false, errorJSON(e)));
    } else {
      host.settle(callId, true, toJSON(r));
    }
  }

  function errorJSON(e) {
    if (e instanceof Error) {
      return JSON.stringify({ message: String(e.message), name: e.name,
        stack: host.mapStack(String(e.stack || "")) });
    }
    return JSON.stringify({ message: "uncaught " + show(e, 0), name: "", stack: "" });
  }

  function makeCtx(seq, time, kind) {
    const ctx = { event: { seq, time, kind } };
    currentCtx = ctx;
    return ctx;
  }

  function invoke(callId, name, argsJSON, seq, time, kind) {
    const ctx = makeCtx(seq, time, kind);
    const found = findAction(name);
    if (!found) {
      host.settle(callId, false, JSON.stringify({ message: "the program has no action " +
        JSON.stringify(name), name: "", stack: "", unknown: true }));
      return;
    }
    let r;
    try {
      const args = argsJSON === "" || argsJSON === "{}" ? {} : fromJSON(argsJSON, classByName);
      r = found[0].call(found[1], args, ctx);
    } catch (e) {
      host.settle(callId, false, errorJSON(e));
      return;
    }
    settleWith(callId, name, r);
  }

  function normalizeResponse(r) {
    if (r instanceof Response) {
      return r.arrayBuffer().then((b) => {
        const headers = [];
        r.headers.forEach((v, k) => headers.push([k, v]));
        return { status: r.status, headers, body: host.b64(b), base64: true };
      });
    }
    if (typeof r === "string") {
      const t = r.trim();
      if (t[0] === "{") {
        try {
          const o = JSON.parse(t);
          if (o && typeof o === "object" && typeof o.status === "number") return normalizeResponse(o);
        } catch (e) { /* a plain string body */ }
      }
      return { status: 200, headers: [], body: r };
    }
    if (r === undefined || r === null) return { status: 204, headers: [], body: "" };
    if (typeof r === "object" && (r.status !== undefined || r.body !== undefined)) {
      const headers = [];
      const h = new Headers(r.headers || {});
      h.forEach((v, k) => headers.push([k, v]));
      let body = r.body;
      if (body === undefined || body === null) body = "";
      else if (typeof body !== "string") {
        if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
          return { status: Number(r.status || 200), headers, body: host.b64(bytesOf(body)), base64: true };
        }
        body = JSON.stringify(body);
      }
      return { status: Number(r.status === undefined ? 200 : r.status), headers, body };
    }
    return { status: 200, headers: [["content-type", "application/json"]], body: JSON.stringify(r) };
  }

  function invokeEndpoint(callId, reqJSON, seq, time, kind) {
    const ctx = makeCtx(seq, time, kind);
    const found = findAction("endpoint");
    if (!found) {
      host.respond(callId, JSON.stringify({ status: 404, headers: [],
        body: "the program has no endpoint action\n" }));
      return;
    }
    let p;
    try {
      p = Promise.resolve(found[0].call(found[1], JSON.parse(reqJSON), ctx)).then(normalizeResponse);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((res) => host.respond(callId, JSON.stringify(res)),
      (e) => host.respond(callId, JSON.stringify({ status: 500, headers: [],
        body: (e instanceof Error ? host.mapStack(String(e.stack || e.message)) : show(e, 0)) + "\n",
        error: JSON.parse(errorJSON(e)) })));
  }

  // ---- the "membrane" module ----------------------------------------------------

  const state = {};

  function handle(name, args) {
    const h = {
      $invokeIn(seconds) {
        return host.schedule(name, toJSON(args === undefined ? {} : args),
          Number(seconds) * 1000, "", false);
      },
      $invokeAt(when) {
        const ms = when instanceof Date ? when.getTime() : Number(when) * 1000;
        return host.schedule(name, toJSON(args === undefined ? {} : args), ms, "", true);
      },
      $cron(expr) {
        return host.schedule(name, toJSON(args === undefined ? {} : args), 0, String(expr), false);
      },
      then(onOk, onErr) {
        const found = findAction(name);
        const p = new Promise((resolve) => {
          if (!found) throw new Error("the program has no action " + JSON.stringify(name));
          resolve(found[0].call(found[1], args === undefined ? {} : args, currentCtx));
        });
        return p.then(onOk, onErr);
      },
    };
    return h;
  }

  const root = new Proxy({}, {
    get(_, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      return (args) => handle(name, args);
    },
  });

  function cancel(id) { return host.unschedule(Number(id)); }

  const membrane = Object.freeze({ state, root, nodes: Object.freeze({}), sleep, cancel });

  let currentCtx;

  // ---- globals ------------------------------------------------------------------

  const define = (name, value) => Object.defineProperty(global, name,
    { value, writable: true, configurable: true, enumerable: false });
  define("console", console);
  define("setTimeout", (fn, ms, ...args) => setTimer(fn, ms, args, false));
  define("setInterval", (fn, ms, ...args) => setTimer(fn, ms, args, true));
  define("clearTimeout", clearTimer);
  define("clearInterval", clearTimer);
  define("queueMicrotask", (fn) => { Promise.resolve().then(fn); });
  define("TextEncoder", TextEncoder);
  define("TextDecoder", TextDecoder);
  define("atob", (s) => host.atob(String(s)));
  define("btoa", (s) => host.btoa(String(s)));
  define("structuredClone", (v) => decode(encode(v, true, "the value"), classByName));
  define("Headers", Headers);
  define("Request", Request);
  define("Response", Response);
  define("AbortController", AbortController);
  define("AbortSignal", AbortSignal);
  define("fetch", fetch);
  define("crypto", crypto);
  define("performance", { now: () => Date.now() - host.startTime() });

  // What the Go side calls. Not reachable from program code.
  return {
    membrane,
    state,
    setExports(module) { current = module; },
    exports() { return current.exports; },
    invoke,
    invokeEndpoint,
    fireTimer,
    deliverFetch,
    actionNames,
    encodeState() { return JSON.stringify(encode(state, true, "state")); },
    // A checkpoint restores state before the module runs (its top level may
    // read state), so instances get their class once the module is there.
    restoreState(text) {
      const later = [];
      const v = decode(JSON.parse(text), later);
      for (const k of Object.keys(v)) state[k] = v[k];
      return () => {
        for (const [o, name] of later) {
          const C = classByName(name);
          if (C) Object.setPrototypeOf(o, C.prototype);
        }
      };
    },
    stateJSON() { return toJSON(state); },
    evaluate(expr) { return toJSON(expr); },
  };
});
