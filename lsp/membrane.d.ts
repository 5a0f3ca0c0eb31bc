// Types for membrane-dev programs: the "membrane" module and the globals the
// runtime provides. membrane-dev writes this file into a program folder so an
// editor's TypeScript server knows them; its language server reads the same
// text for completion, hover and signature help.

declare module "membrane" {
  /**
   * Durable state of the program. Whatever it holds outlives restarts, crashes
   * and code changes: objects, arrays, Map, Set, Date, BigInt, typed arrays,
   * class instances and cycles. Module variables start over on a deploy; state
   * carries over.
   */
  export const state: State;

  /**
   * Handles to this program's actions. `await root.NAME(args)` calls action
   * NAME; `root.NAME(args).$invokeIn(60)` schedules a durable call instead.
   */
  export const root: Root;

  /** Connections to other programs. Not modelled yet: always empty. */
  export const nodes: Record<string, never>;

  /**
   * Pause the current action for a number of seconds on the program's clock.
   * The pause is durable: it survives restarts and crashes, and the action
   * resumes where it waited.
   * @param seconds How long to wait, in seconds (fractions allowed).
   */
  export function sleep(seconds: number): Promise<void>;

  /**
   * Cancel a scheduled call by the id that $invokeIn, $invokeAt or $cron
   * returned. Returns false when no such call is pending.
   * @param id The id of the scheduled call.
   */
  export function cancel(id: string): boolean;

  /** Durable state: any fields the program puts there. */
  export interface State {
    [field: string]: any;
  }

  /** Every exported action of the program, as a handle factory. */
  export interface Root {
    [action: string]: (args?: Record<string, unknown>) => ActionHandle;
  }

  /** Context passed to every action as its second argument. */
  export interface ActionContext {
    /** The event being handled: its seq in the log and its time. */
    event: { seq: number; time: Date };
  }

  /**
   * A call of an action that has not happened yet. Await it to call the action
   * now, or schedule it with one of the $ methods.
   */
  export interface ActionHandle extends PromiseLike<unknown> {
    /**
     * Schedule this call to run after a number of seconds. The schedule is
     * durable and runs the action of that name in the code current when it fires.
     * @param seconds Delay in seconds from now, on the program's clock.
     */
    $invokeIn(seconds: number): string;
    /**
     * Schedule this call to run at a given time.
     * @param time A Date, or a time in Unix seconds.
     */
    $invokeAt(time: Date | number): string;
    /**
     * Schedule this call on a cron schedule with six fields, in UTC:
     * "seconds minutes hours day-of-month month day-of-week".
     * Firings missed while nothing ran are coalesced into one.
     * @param expression Six-field cron expression, for example "0 0 9 * * MON".
     */
    $cron(expression: string): string;
  }
}

/**
 * Fetch a resource over HTTP. Requests leave through the program's log: the
 * response is recorded, and a replay gets the recorded response back. Redirects
 * are followed up to 10; a response over 32 MiB fails; the default time-out is
 * 30 s.
 * @param input The URL, or a Request.
 * @param init Method, headers, body and signal.
 */
declare function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;

/** Options of a fetch request. */
interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: string | ArrayBuffer | ArrayBufferView | URLSearchParams | null;
  signal?: AbortSignal;
  redirect?: "follow" | "error" | "manual";
}

type HeadersInit = Headers | Record<string, string> | [string, string][];

/** HTTP headers, with case-insensitive names. */
declare class Headers {
  constructor(init?: HeadersInit);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(fn: (value: string, name: string) => void): void;
}

/** An HTTP request. */
declare class Request {
  constructor(input: string | URL | Request, init?: RequestInit);
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  text(): Promise<string>;
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** An HTTP response, as fetch returns it or as an endpoint may return it. */
declare class Response {
  constructor(body?: string | ArrayBuffer | ArrayBufferView | null, init?: ResponseInit);
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly url: string;
  text(): Promise<string>;
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

/** Lets a fetch be cancelled. */
declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

/** Signal that a fetch should stop. */
declare class AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  static timeout(milliseconds: number): AbortSignal;
}

/**
 * Call a function after a delay on the program's clock. Durable: a pending
 * timer survives restarts and crashes.
 * @param fn The function to call.
 * @param milliseconds The delay in milliseconds.
 */
declare function setTimeout(fn: (...args: any[]) => void, milliseconds?: number, ...args: any[]): number;

/**
 * Cancel a timer that setTimeout started.
 * @param id The id setTimeout returned.
 */
declare function clearTimeout(id: number | undefined): void;

/**
 * Call a function repeatedly on the program's clock. Durable, as setTimeout.
 * @param fn The function to call.
 * @param milliseconds The interval in milliseconds.
 */
declare function setInterval(fn: (...args: any[]) => void, milliseconds?: number, ...args: any[]): number;

/**
 * Stop a repeating timer that setInterval started.
 * @param id The id setInterval returned.
 */
declare function clearInterval(id: number | undefined): void;

/** Console output, written to the program's log and to the terminal of `run`. */
declare const console: {
  /**
   * Write a line to the log and to the terminal of `membrane-dev run`.
   * @param data Values to print, separated by spaces.
   */
  log(...data: unknown[]): void;
  /**
   * Write an informational line to the log and the terminal.
   * @param data Values to print, separated by spaces.
   */
  info(...data: unknown[]): void;
  /**
   * Write a warning line to the log and the terminal.
   * @param data Values to print, separated by spaces.
   */
  warn(...data: unknown[]): void;
  /**
   * Write an error line to the log and the terminal.
   * @param data Values to print, separated by spaces.
   */
  error(...data: unknown[]): void;
};

/** Deterministic randomness: values come from the log on replay. */
declare const crypto: {
  /**
   * Fill a typed array with random values, recorded in the log.
   * @param array The array to fill.
   */
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  /** A random version 4 UUID, recorded in the log. */
  randomUUID(): string;
};

/** A parsed URL. */
declare class URL {
  constructor(url: string, base?: string | URL);
  href: string;
  origin: string;
  protocol: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
  readonly searchParams: URLSearchParams;
  toString(): string;
}

/** The query part of a URL. */
declare class URLSearchParams {
  constructor(init?: string | Record<string, string> | [string, string][]);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  toString(): string;
}

/** Encodes strings as UTF-8 bytes. */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

/** Decodes bytes into a string. */
declare class TextDecoder {
  constructor(label?: string);
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

/**
 * Decode a base64 string into a binary string.
 * @param data Base64 text.
 */
declare function atob(data: string): string;

/**
 * Encode a binary string as base64.
 * @param data A string whose characters are all below U+0100.
 */
declare function btoa(data: string): string;

/**
 * Deep-copy a value: objects, arrays, Map, Set, Date, typed arrays and cycles.
 * @param value The value to copy.
 */
declare function structuredClone<T>(value: T): T;
