// Typed turns, whatever the call state: outside a call the text goes to
// POST /api/conversations/<id>/messages and the reply streams back as text; during a Realtime
// call it goes over the data channel; during a Legacy call it replaces a spoken turn. This
// module holds the pure parts: checking the text, choosing the route, the Realtime client
// events, and the text reply's state as its stream arrives.

// The reply endpoints take at most 4,000 characters of the caller's words (legacy_voice.apis).
export const MESSAGE_MAX = 4000;

/** @typedef {import("./push_to_talk.js").ClientEvent} ClientEvent */
/** @typedef {{ item_id: string, role: string, text: string, previous_item_id: string | null }} Turn */
/**
 * @typedef {object} TextTurn
 * @property {"sending" | "streaming" | "done" | "error"} status
 * @property {string | null} error
 * @property {Turn & { source: "text" }} user
 * @property {Turn & { pending: boolean }} reply
 */

/** @param {string} text @returns {{ text: string, error?: undefined } | { error: string, text?: undefined }} */
export function cleanMessage(text) {
  const trimmed = text.trim();
  if (!trimmed) return { error: "Type a message first." };
  if (trimmed.length > MESSAGE_MAX) return { error: `A message has at most ${MESSAGE_MAX} characters.` };
  return { text: trimmed };
}

// Where typed text goes: "conversation" with no call, the call's mode ("realtime" | "legacy")
// once it is up, "wait" while it is still connecting (nothing could take the text yet).
/** @param {{ status: string, call?: { mode: string } | null } | null | undefined} call @returns {string} */
export function typedRoute(call) {
  if (!call) return "conversation";
  const up = ["listening", "speaking", "interrupted"].includes(call.status);
  return up && call.call ? call.call.mode : "wait";
}

// Item ids of our own making: OpenAI accepts ids of at most 32 characters; the transcript
// save path takes 1–64 of [A-Za-z0-9_.:-].
/** @param {() => string} [random] @returns {string} */
export function typedItemId(random = () => crypto.randomUUID()) {
  return `text_${random().replaceAll("-", "").slice(0, 24)}`;
}

// A typed user message for a Realtime call, then a reply to it. While the assistant is still
// answering, that answer is cancelled first (typing is talking over it): OpenAI refuses a second
// response while one is active.
/** @param {{ text: string, itemId: string, replying?: boolean }} message @returns {ClientEvent[]} */
export function realtimeTextEvents({ text, itemId, replying = false }) {
  /** @type {ClientEvent[]} */
  const events = [];
  if (replying) events.push({ type: "response.cancel" }, { type: "output_audio_buffer.clear" });
  events.push(
    {
      type: "conversation.item.create",
      item: { id: itemId, type: "message", role: "user", content: [{ type: "input_text", text }] },
    },
    { type: "response.create" },
  );
  return events;
}

// --- a typed turn outside a call: the reply's state as its server-sent events arrive -----------

/** @param {{ text: string, userItemId: string, replyItemId: string }} turn @returns {TextTurn} */
export function textTurnStart({ text, userItemId, replyItemId }) {
  return {
    status: "sending",
    error: null,
    user: { item_id: userItemId, role: "user", text, source: "text", previous_item_id: null },
    reply: { item_id: replyItemId, role: "assistant", text: "", previous_item_id: userItemId, pending: true },
  };
}

// One [name, data] event of the stream: `delta` {text} appends, `done` {text} gives the whole
// reply as saved, `error` {code, message} ends it with what to show.
/**
 * @param {TextTurn} turn
 * @param {[name: string, data: { text?: string, message?: string }]} event
 * @returns {TextTurn}
 */
export function textTurnEvent(turn, [name, data]) {
  if (name === "delta") {
    return {
      ...turn,
      status: "streaming",
      reply: { ...turn.reply, text: turn.reply.text + (data.text ?? ""), pending: false },
    };
  }
  if (name === "done") {
    return { ...turn, status: "done", reply: { ...turn.reply, text: data.text ?? turn.reply.text, pending: false } };
  }
  if (name === "error") {
    return {
      ...turn,
      status: "error",
      error: data.message || "The reply failed.",
      reply: { ...turn.reply, pending: false },
    };
  }
  return turn;
}

// The stream ended without `done` or `error` (the connection dropped).
/** @param {TextTurn} turn @returns {TextTurn} */
export function textTurnEnded(turn) {
  if (turn.status === "done" || turn.status === "error") return turn;
  return {
    ...turn,
    status: "error",
    error: "The reply was cut off. Try again.",
    reply: { ...turn.reply, pending: false },
  };
}

// --- read aloud ---------------------------------------------------------------------------------

// What speechSynthesis is given: at most `max` characters, cut at a word (as the server's
// speech is), so a long reply does not read for ever.
/** @param {string} text @param {number} [max] @returns {string} */
export function readAloudText(text, max = 4096) {
  const clean = text
    .replace(/```[\s\S]*?(```|$)/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (clean.length <= max) return clean;
  const cut = clean.lastIndexOf(" ", max);
  return clean.slice(0, cut > 0 ? cut : max);
}
