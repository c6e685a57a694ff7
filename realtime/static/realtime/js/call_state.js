// The realtime call as a pure state machine: data-channel events in, call status and
// transcript items out. GA event names and their beta aliases; unknown events are ignored.
//
//   idle → connecting → listening ⇄ speaking → interrupted → listening … → ended | error
//
// `reduce(state, event, now)` returns `{ state, saves }`: `saves` are transcript items that
// just became worth saving (finished, or cut off), for POST /api/calls/<id>/transcript.

// Speech runs at about 15 characters a second: with the time the assistant had been audible,
// this estimates how much of an interrupted reply was heard (OpenAI does not say; docs/openai-realtime.md §4.4).
export const SPOKEN_CHARS_PER_SECOND = 15;

/**
 * @typedef {object} Item a transcript item, as the page shows it
 * @property {string} item_id
 * @property {string} role
 * @property {string} text
 * @property {boolean} interrupted
 * @property {string | null} previous_item_id
 * @property {boolean} final
 * @property {number} [heardChars] of an interrupted reply: how much was heard
 * @property {boolean} [played] a reply heard to its end
 * @property {boolean} [inaudible]
 * @property {string} [source] "text" for a typed turn
 */
/**
 * @typedef {{ item_id: string, role: string, text: string, interrupted: boolean,
 *   previous_item_id: string | null, source?: string }} SavedItem as POST /api/calls/<id>/transcript takes it
 */
/**
 * @typedef {object} CallState
 * @property {string} status
 * @property {Map<string, Item>} items
 * @property {Map<string, string>} responses
 * @property {{ itemId: string | null, since: number } | null} speaking
 * @property {string | null} replying
 * @property {string | null} notice
 * @property {{ code: string, message: string } | null} error
 */
/** @typedef {{ type?: string, transcript?: string, text?: string }} ContentPart */
/**
 * @typedef {object} ServerEvent a data-channel event: the fields the handlers read
 * @property {string} type
 * @property {string} [item_id]
 * @property {string | null} [previous_item_id]
 * @property {string} [response_id]
 * @property {string} [delta]
 * @property {string} [transcript]
 * @property {string} [text]
 * @property {{ id?: string, type?: string, role?: string, status?: string, content?: ContentPart[] }} [item]
 * @property {{ id?: string, status?: string, output?: { id: string }[],
 *   status_details?: { reason?: string, error?: { message?: string } } }} [response]
 * @property {{ code?: string, message?: string }} [error]
 */
/** @typedef {(state: CallState, event: ServerEvent, now: number, saves: SavedItem[]) => void} Handler */
/** @typedef {{ state: CallState, saves: SavedItem[] }} Step */

/** @type {Record<string, string | undefined>} */
const ALIASES = {
  "conversation.item.created": "conversation.item.added",
  "response.audio_transcript.delta": "response.output_audio_transcript.delta",
  "response.audio_transcript.done": "response.output_audio_transcript.done",
  "response.text.delta": "response.output_text.delta",
  "response.text.done": "response.output_text.done",
  "response.audio.done": "response.output_audio.done",
};

// Earlier turns the server seeds into a continued call (realtime/transcriber.py's
// MEMORY_ITEM_PREFIX) are already saved and shown: echoed back, they are neither shown again nor
// saved as new turns of this call.
export const MEMORY_ITEM_PREFIX = "mem_";

/** @returns {CallState} */
export function initialState() {
  return {
    status: "idle",
    items: new Map(), // item_id -> item, in arrival order
    responses: new Map(), // response_id -> assistant item_id
    speaking: null, // { itemId, since } while the assistant is audible
    replying: null, // the response being generated: a second one is refused meanwhile
    notice: null, // a recoverable problem worth showing
    error: null, // what ended the call, when it ended badly
  };
}

/** @param {CallState} state @param {ServerEvent} event @param {number} [now] @returns {Step} */
export function reduce(state, event, now = Date.now()) {
  const type = ALIASES[event?.type] ?? event?.type;
  const handler = HANDLERS[type];
  if (!handler) return { state, saves: [] };
  const next = copy(state);
  /** @type {SavedItem[]} */
  const saves = [];
  handler(next, event, now, saves);
  return { state: next, saves };
}

// The call ends (hung up, the page closed, the connection lost) at `now`: a reply still being
// spoken is cut where the caller stopped hearing it, like a barge-in, and one still being
// generated and not yet audible is saved as not heard at all, so the history never shows two
// user turns in a row. A reply that played to the end keeps its words, uncut.
/** @param {CallState} state @param {number} [now] @returns {Step} */
export function hangUp(state, now = Date.now()) {
  const next = copy(state);
  /** @type {SavedItem[]} */
  const saves = [];
  if (next.speaking) cut(next, next.speaking.itemId, now, saves);
  for (const item of next.items.values()) {
    if (item.role !== "assistant" || item.final || item.interrupted) continue;
    if (item.played) saves.push(toSaved(item));
    else cut(next, item.item_id, now, saves);
  }
  next.speaking = null;
  return { state: next, saves };
}

/** @param {CallState} state @returns {CallState} */
function copy(state) {
  return { ...state, items: new Map(state.items), responses: new Map(state.responses) };
}

// The text to show and save for an item: what was heard, for an interrupted reply.
/** @param {Item} item @returns {string} */
export function heardText(item) {
  if (!item.interrupted || item.heardChars == null) return item.text;
  return item.text.slice(0, item.heardChars).trimEnd();
}

/** @param {Item} item @returns {string} */
export function unheardText(item) {
  if (!item.interrupted || item.heardChars == null) return "";
  return item.text.slice(item.heardChars);
}

// Why a reply stopped before its end, in words: OpenAI's reason for an "incomplete" response
// (Realtime's status_details.reason, or Chat Completions' finish_reason as the Legacy stream
// relays it).
/** @type {Record<string, string>} */
const CUT_SHORT = {
  content_filter: "The reply was stopped by OpenAI's content filter.",
  max_output_tokens: "The reply was cut short: it reached the longest reply allowed.",
  length: "The reply was cut short: it reached the longest reply allowed.",
};

/** @param {string | undefined} reason @returns {string} */
export function incompleteReplyNotice(reason) {
  return reason && Object.hasOwn(CUT_SHORT, reason) ? CUT_SHORT[reason] : "The reply stopped before it was finished.";
}

/** @param {Item} item @returns {SavedItem} */
export function toSaved(item) {
  return {
    item_id: item.item_id,
    role: item.role,
    text: heardText(item),
    interrupted: Boolean(item.interrupted),
    previous_item_id: item.previous_item_id ?? null,
    ...(item.source ? { source: item.source } : {}),
  };
}

/** @param {CallState} state @param {string} itemId @param {Partial<Item>} fields @returns {Item} */
function upsert(state, itemId, fields) {
  const current = state.items.get(itemId) ?? {
    item_id: itemId,
    role: "assistant",
    text: "",
    interrupted: false,
    previous_item_id: null,
    final: false,
  };
  const item = { ...current, ...fields };
  state.items.set(itemId, item);
  return item;
}

/** @param {{ content?: ContentPart[] } | undefined} item @returns {string} */
function contentText(item) {
  for (const part of item?.content ?? []) {
    const text = part.transcript ?? part.text;
    if (typeof text === "string") return text;
  }
  return "";
}

// Mark an assistant item cut off, fixing how much of it was heard; saves it once.
/** @param {CallState} state @param {string | null | undefined} itemId @param {number} now @param {SavedItem[]} saves */
function cut(state, itemId, now, saves) {
  const item = itemId && state.items.get(itemId);
  if (!item || item.interrupted) return;
  const since = state.speaking?.itemId === itemId ? state.speaking.since : now;
  const byTime = Math.round(((now - since) / 1000) * SPOKEN_CHARS_PER_SECOND);
  let heardChars = Math.min(item.text.length, byTime);
  const lastSpace = item.text.lastIndexOf(" ", heardChars);
  if (heardChars < item.text.length && lastSpace > 0) heardChars = lastSpace; // whole words
  saves.push(toSaved(upsert(state, itemId, { interrupted: true, heardChars })));
}

/** @param {CallState} state @param {number} now @param {SavedItem[]} saves */
function interruptSpeaking(state, now, saves) {
  if (state.status !== "speaking" || !state.speaking) return;
  cut(state, state.speaking.itemId, now, saves);
  state.speaking = null;
  state.status = "interrupted";
}

/** @type {Record<string, Handler | undefined>} */
const HANDLERS = {
  "session.created"(state) {
    if (state.status === "connecting" || state.status === "idle") state.status = "listening";
  },
  "session.updated"(state) {
    if (state.status === "connecting" || state.status === "idle") state.status = "listening";
  },
  "input_audio_buffer.speech_started"(state, event, now, saves) {
    if (state.status === "speaking") interruptSpeaking(state, now, saves);
    else if (state.status !== "interrupted") state.status = "listening";
    if (event.item_id) upsert(state, event.item_id, { role: "user" });
  },
  "input_audio_buffer.speech_stopped"(state) {
    if (state.status === "interrupted") state.status = "listening";
  },
  "input_audio_buffer.committed"(state, event) {
    // Push-to-talk has no speech_stopped: the release's commit ends a barge-in.
    if (state.status === "interrupted") state.status = "listening";
    if (!event.item_id) return;
    upsert(state, event.item_id, { role: "user", previous_item_id: event.previous_item_id ?? null });
  },
  "conversation.item.added"(state, event, now, saves) {
    const item = event.item;
    if (!item?.id || (item.type && item.type !== "message")) return;
    if (item.id.startsWith(MEMORY_ITEM_PREFIX)) return; // already in the conversation
    const known = state.items.get(item.id);
    /** @type {Partial<Item>} */
    const fields = { role: item.role ?? known?.role ?? "assistant" };
    if (event.previous_item_id !== undefined) fields.previous_item_id = event.previous_item_id;
    const text = contentText(item);
    const typed = item.content?.some((part) => part.type === "input_text");
    if (text && !known?.text) fields.text = text;
    if (typed && item.role === "user") fields.source = "text"; // typed on the page, not spoken
    const saved = upsert(state, item.id, { ...fields, final: known?.final || Boolean(typed) });
    if (typed) saves.push(toSaved(saved));
  },
  // An event without an item_id would make an item no save can name (the server refuses it, and
  // the rest of its batch with it): such an event is ignored, as the handlers above do.
  "conversation.item.input_audio_transcription.delta"(state, event) {
    if (!event.item_id) return;
    const item = state.items.get(event.item_id);
    if (item?.final) return;
    upsert(state, event.item_id, { role: "user", text: (item?.text ?? "") + (event.delta ?? "") });
  },
  "conversation.item.input_audio_transcription.completed"(state, event, now, saves) {
    if (!event.item_id) return;
    const text = (event.transcript ?? "").trim();
    saves.push(toSaved(upsert(state, event.item_id, { role: "user", text, final: true })));
  },
  "conversation.item.input_audio_transcription.failed"(state, event, now, saves) {
    if (!event.item_id) return;
    saves.push(toSaved(upsert(state, event.item_id, { role: "user", text: "", final: true, inaudible: true })));
  },
  "response.created"(state, event) {
    if (event.response?.id) state.notice = null;
    state.replying = event.response?.id ?? null;
  },
  "response.output_item.added"(state, event) {
    const item = event.item;
    if (!item?.id || (item.type && item.type !== "message")) return;
    upsert(state, item.id, { role: item.role ?? "assistant" });
    if (event.response_id) state.responses.set(event.response_id, item.id);
  },
  "response.output_audio_transcript.delta"(state, event) {
    appendAssistant(state, event, event.delta);
  },
  "response.output_text.delta"(state, event) {
    appendAssistant(state, event, event.delta);
  },
  "response.output_audio_transcript.done"(state, event, now, saves) {
    finishAssistant(state, event, event.transcript, saves);
  },
  "response.output_text.done"(state, event, now, saves) {
    finishAssistant(state, event, event.text, saves);
  },
  "output_audio_buffer.started"(state, event, now) {
    const itemId = responseItemId(state, event.response_id) ?? lastAssistantId(state);
    state.speaking = { itemId, since: now };
    state.status = "speaking";
  },
  "output_audio_buffer.stopped"(state) {
    if (state.status === "speaking") state.status = "listening";
    const itemId = state.speaking?.itemId;
    if (itemId && state.items.has(itemId)) upsert(state, itemId, { played: true }); // heard to the end
    state.speaking = null;
  },
  "output_audio_buffer.cleared"(state, event, now, saves) {
    const itemId = responseItemId(state, event.response_id) ?? state.speaking?.itemId;
    if (state.status === "speaking") interruptSpeaking(state, now, saves);
    else cut(state, itemId, now, saves);
  },
  "response.output_item.done"(state, event, now, saves) {
    if (event.item?.status === "incomplete") cut(state, event.item.id, now, saves);
  },
  "conversation.item.truncated"(state, event, now, saves) {
    cut(state, event.item_id, now, saves);
  },
  "response.done"(state, event, now, saves) {
    const response = event.response ?? {};
    if (state.replying === response.id) state.replying = null;
    if (response.status === "cancelled") {
      for (const output of response.output ?? []) cut(state, output.id, now, saves);
      cut(state, responseItemId(state, response.id), now, saves);
    } else if (response.status === "incomplete") {
      state.notice = incompleteReplyNotice(response.status_details?.reason);
    } else if (response.status === "failed") {
      const reason = response.status_details?.error?.message;
      state.notice = reason ? `The reply failed: ${reason}` : "The reply failed. Try again.";
    }
  },
  error(state, event) {
    const error = event.error ?? {};
    if (error.code === "session_expired") {
      state.status = "ended";
      state.error = { code: "session_expired", message: "The call reached its maximum length." };
      return;
    }
    state.notice = error.message || "Something went wrong in the call.";
  },
};

/** @param {CallState} state @param {string | undefined} responseId @returns {string | undefined} */
function responseItemId(state, responseId) {
  return responseId ? state.responses.get(responseId) : undefined;
}

/** @param {CallState} state @returns {string | null} */
function lastAssistantId(state) {
  const assistants = [...state.items.values()].filter((item) => item.role === "assistant");
  return assistants.at(-1)?.item_id ?? null;
}

/** @param {CallState} state @param {ServerEvent} event @param {string | undefined} delta */
function appendAssistant(state, event, delta) {
  if (!event.item_id || !delta) return;
  const item = state.items.get(event.item_id);
  if (item?.final) return;
  upsert(state, event.item_id, { role: "assistant", text: (item?.text ?? "") + delta });
  if (event.response_id && !state.responses.has(event.response_id)) {
    state.responses.set(event.response_id, event.item_id);
  }
}

/** @param {CallState} state @param {ServerEvent} event @param {string | undefined} text @param {SavedItem[]} saves */
function finishAssistant(state, event, text, saves) {
  if (!event.item_id) return;
  const item = upsert(state, event.item_id, {
    role: "assistant",
    text: text ?? state.items.get(event.item_id)?.text ?? "",
    final: true,
  });
  saves.push(toSaved(item));
}
