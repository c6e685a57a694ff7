// The server's record of a call, kept by both call clients: transcript items saved as they
// finish, and at the end the transcript flushed before the call is ended.

import { api } from "./api.js";
import { batches } from "./save_queue.js";

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
  return api(`/api/calls/${callId}/transcript`, { method: "POST", body: { items } });
}

export async function recordEnd(callId, queue, reason) {
  await Promise.race([queue.flush(), new Promise((r) => setTimeout(r, FLUSH_LIMIT_MS))]);
  await api(`/api/calls/${callId}/end`, { method: "POST", body: { reason } }).catch(() => {});
}

// The page is going away: keepalive requests, nothing awaited.
export function recordEndOnUnload(callId, queue) {
  const send = (path, body) => api(path, { method: "POST", body, keepalive: true }).catch(() => {});
  for (const items of batches([...queue.pending.values()])) {
    send(`/api/calls/${callId}/transcript`, { items });
  }
  send(`/api/calls/${callId}/end`, { reason: "page_closed" });
}
