// Fetches the weather and keeps the last reading. Every response is in the
// log, so a replay shows exactly what the program saw, even after the
// service is gone.
import { state } from "membrane";

state.readings ??= {};

export async function temperature({ city = "oslo", base = "https://wttr.in" }: {
  city?: string;
  base?: string;
}) {
  const res = await fetch(`${base}/${encodeURIComponent(city)}?format=j1`, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`the weather service answered ${res.status}`);
  const body = await res.json();
  const celsius = Number(body.current_condition?.[0]?.temp_C ?? body.celsius);
  state.readings[city] = { celsius, at: new Date().toISOString() };
  return celsius;
}

export function readings() {
  return state.readings;
}
