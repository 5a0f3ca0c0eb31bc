// A counter whose count survives restarts, crashes and code changes.
import { state } from "membrane";

state.count ??= 0;

// A module variable: it survives restarts and crashes too, but starts over
// when the code changes (a deploy evaluates the module afresh).
let callsSinceDeploy = 0;

export function increment({ by = 1 }: { by?: number }) {
  state.count += by;
  callsSinceDeploy++;
  return state.count;
}

export function get() {
  return { count: state.count, callsSinceDeploy };
}

export function endpoint({ path }: { path: string }) {
  return JSON.stringify({ count: state.count, path });
}
