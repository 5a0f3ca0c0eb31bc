// Sleeps and schedules. A sleep in the middle of an async function survives a
// crash: kill -9 the run, start it again, and the reminder still arrives.
import { state, root, sleep } from "membrane";

state.reminders ??= [];

export async function remind({ text, seconds = 5 }: { text: string; seconds?: number }) {
  await sleep(seconds);
  console.log(`reminder: ${text}`);
  state.reminders.push(text);
  return text;
}

// Returns at once; the reminder fires later, in whatever code is current.
export function later({ text, seconds = 60 }: { text: string; seconds?: number }) {
  return root.remind({ text, seconds: 0 }).$invokeIn(seconds);
}

// Every minute, at second 0 (six fields, UTC).
export function hourlyish() {
  return root.tick({}).$cron("0 * * * * *");
}

export function tick() {
  state.ticks = (state.ticks ?? 0) + 1;
  return state.ticks;
}

export function reminders() {
  return state.reminders;
}
