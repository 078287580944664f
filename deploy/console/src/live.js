// Follows GET /v1/events with its cursor and tells the open view when something it shows
// changed, so a booking or an approval appears within seconds without a reload.
import { get } from "./api.js";

const POLL_MS = 2000;
const listeners = new Set();
let cursor = null;
let timer = null;
let caughtUp = false;
// Bumped when following stops, so a poll still in flight then does not schedule another.
let generation = 0;

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function poll() {
  const mine = generation;
  try {
    // The first pages are history: skipped until the feed's end, then followed.
    for (;;) {
      const page = await get("/v1/events", { after: cursor, limit: 500 });
      if (mine !== generation) return;
      cursor = page.next_cursor;
      if (caughtUp && page.items.length) {
        for (const listener of listeners) listener(page.items);
      }
      if (page.items.length < 500) break;
    }
    caughtUp = true;
  } catch (error) {
    if (error.status === 410) {
      // Too old a cursor: start over from the feed's end.
      cursor = null;
      caughtUp = false;
    }
  }
  if (mine === generation) timer = setTimeout(poll, POLL_MS);
}

export function startLive() {
  if (timer === null) timer = setTimeout(poll, 0);
}

export function stopLive() {
  generation += 1;
  clearTimeout(timer);
  timer = null;
  cursor = null;
  caughtUp = false;
}
