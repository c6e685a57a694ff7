// The server's record of a call, kept by both call clients: transcript items saved as they
// finish, and at the end the transcript flushed before the call is ended.

import { api } from "./api.js";
import { batches } from "./save_queue.js";
import { urlFor } from "./urls.js";

const FLUSH_LIMIT_MS = 8000; // a dead network must not keep the end button spinning

// The caller's IANA time zone (e.g. "Europe/Paris"), sent when a call starts: tools such as
// current_time answer in it. Undefined when the browser does not say.
export function callerTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

export function saveItems(callId, items) {
  return api(urlFor("call-transcript", callId), { method: "POST", body: { items } });
}

// Calls ended on this page whose transcript is still being flushed before their end request:
// if the page goes away meanwhile (End, then the tab closed at once), the end must still go.
const endsUnderway = new Map(); // call id → { queue, reason }

export async function recordEnd(callId, queue, reason) {
  endsUnderway.set(callId, { queue, reason });
  try {
    await Promise.race([queue.flush(), new Promise((r) => setTimeout(r, FLUSH_LIMIT_MS))]);
  } finally {
    endsUnderway.delete(callId);
  }
  // keepalive: a page closed right after End still delivers it.
  await api(urlFor("call-end", callId), { method: "POST", body: { reason }, keepalive: true }).catch(() => {});
}

// The page is going away: keepalive requests, nothing awaited. Saving an item twice is
// harmless (the server keeps one per item id).
export function recordEndOnUnload(callId, queue, reason = "page_closed") {
  const send = (route, body) => api(urlFor(route, callId), { method: "POST", body, keepalive: true }).catch(() => {});
  for (const items of batches([...queue.pending.values()])) {
    send("call-transcript", { items });
  }
  send("call-end", { reason });
}

globalThis.addEventListener?.("pagehide", () => {
  for (const [callId, { queue, reason }] of endsUnderway) recordEndOnUnload(callId, queue, reason);
  endsUnderway.clear();
});
