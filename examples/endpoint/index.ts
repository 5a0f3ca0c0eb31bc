// A tiny guestbook served over HTTP by `membrane-dev run`:
//   curl localhost:8787/            lists the entries
//   curl -d 'hello' localhost:8787/ adds one
import { state } from "membrane";

state.entries ??= [];

export function endpoint({ method, path, body }: { method: string; path: string; body: string }) {
  if (path !== "/") return { status: 404, body: "not found\n" };
  if (method === "POST") {
    const text = body.trim().slice(0, 200);
    if (!text) return { status: 400, body: "say something\n" };
    state.entries.push({ text, at: new Date().toISOString() });
    return { status: 201, headers: { "content-type": "application/json" }, body: JSON.stringify({ n: state.entries.length }) };
  }
  return new Response(JSON.stringify(state.entries), { headers: { "content-type": "application/json" } });
}

export function count() {
  return state.entries.length;
}
