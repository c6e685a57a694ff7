// Small pure rules of the call page, kept apart from the DOM so node can test them.

export const TITLE_CHARS = 80;

/** @typedef {{ item_id: string, role: string, text?: string, final?: boolean }} PageItem */

// The title a new conversation gets on the page: its first user turn once it is whole (a
// transcription still arriving would flicker through its partial words).
/** @param {Iterable<PageItem>} items @returns {string | null} */
export function firstTurnTitle(items) {
  const first = [...items].find((item) => item.role === "user" && item.final && item.text?.trim());
  if (!first) return null;
  const text = /** @type {string} */ (first.text).trim();
  return text.length > TITLE_CHARS ? `${text.slice(0, TITLE_CHARS - 1)}…` : text;
}

// Turns still being heard when a call ended: they will never get words, so they leave the page.
/** @param {Iterable<PageItem>} items @returns {string[]} */
export function unheardTurnIds(items) {
  return [...items].filter((item) => !item.final && !item.text).map((item) => item.item_id);
}

// The call timer's text: m:ss, then h:mm:ss past an hour.
/** @param {number} ms @returns {string} */
export function elapsedText(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const s = String(seconds % 60).padStart(2, "0");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}:${s}`;
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}:${s}`;
}

export const LIVE_WORDS = ["connecting", "listening", "speaking", "interrupted"];

// Whether the timer runs for a status word: from the first word of a call that is up, until a
// word that ends it.
/** @param {string} word @returns {boolean} */
export function timerRuns(word) {
  return LIVE_WORDS.includes(word) && word !== "connecting";
}
