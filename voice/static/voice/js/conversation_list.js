// The conversation list as pure state: pages of GET /api/conversations?search=&page= merged in
// order (newest activity first), a search that makes every older answer stale, and the local
// edits (rename, delete, a conversation that just had a turn). No DOM: conversation_sidebar.js
// draws it, tests/js/conversation_list.test.mjs drives it.

export const TITLE_MAX = 200; // Conversation.title's max_length
export const SEARCH_DEBOUNCE_MS = 250;

/** @typedef {{ id: string, title?: string, created_at?: string, last_activity_at?: string }} Conversation */
/**
 * @typedef {object} ListState
 * @property {string} query
 * @property {Conversation[]} items
 * @property {string | null} next the next page's address
 * @property {boolean} loading
 * @property {string | null} error
 * @property {number} generation the request whose answers still count
 * @property {boolean} loaded
 */

/** @returns {ListState} */
export function initialList() {
  return { query: "", items: [], next: null, loading: false, error: null, generation: 0, loaded: false };
}

// A new search (or a reload): answers to earlier requests are ignored from now on.
/** @param {ListState} state @param {{ query?: string }} [search] @returns {ListState} */
export function listRequested(state, { query = state.query } = {}) {
  return {
    ...state,
    query,
    items: [],
    next: null,
    loading: true,
    error: null,
    generation: state.generation + 1,
    loaded: false,
  };
}

/** @param {ListState} state @returns {ListState} */
export function moreRequested(state) {
  return { ...state, loading: true, error: null };
}

// One page arrived for request `generation`; items already listed are not listed twice (a row
// moves down a page when newer activity pushes it, so the next page may repeat it).
/**
 * @param {ListState} state
 * @param {{ generation: number, page: { results: Conversation[], next?: string | null } }} answer
 * @returns {ListState}
 */
export function pageLoaded(state, { generation, page }) {
  if (generation !== state.generation) return state;
  const known = new Set(state.items.map((item) => item.id));
  const fresh = page.results.filter((item) => !known.has(item.id));
  return { ...state, items: [...state.items, ...fresh], next: page.next ?? null, loading: false, loaded: true };
}

/** @param {ListState} state @param {{ generation: number, message: string }} failure @returns {ListState} */
export function pageFailed(state, { generation, message }) {
  if (generation !== state.generation) return state;
  return { ...state, loading: false, error: message };
}

/** @param {ListState} state @param {{ id: string, title: string }} rename @returns {ListState} */
export function renamed(state, { id, title }) {
  return { ...state, items: state.items.map((item) => (item.id === id ? { ...item, title } : item)) };
}

/** @param {ListState} state @param {string} id @returns {ListState} */
export function removed(state, id) {
  return { ...state, items: state.items.filter((item) => item.id !== id) };
}

// A conversation had activity (a turn, a call): its row goes to the top, as the server would
// order it. While searching, it is only updated where it is: whether it matches is the server's
// to say.
/** @param {ListState} state @param {Conversation} conversation @returns {ListState} */
export function touched(state, conversation) {
  const current = state.items.find((item) => item.id === conversation.id);
  const merged = { ...current, ...conversation };
  if (state.query) {
    return current
      ? { ...state, items: state.items.map((item) => (item.id === conversation.id ? merged : item)) }
      : state;
  }
  return { ...state, items: [merged, ...state.items.filter((item) => item.id !== conversation.id)] };
}

/** @param {ListState} state @returns {boolean} */
export function canLoadMore(state) {
  return Boolean(state.next) && !state.loading && !state.error;
}

// The first page's address for a search: `base` is the list's URL as the template gives it.
/** @param {string} base @param {string} query @returns {string} */
export function listUrl(base, query) {
  const trimmed = query.trim();
  return trimmed ? `${base}?${new URLSearchParams({ search: trimmed })}` : base;
}

// What a rename field's text will be saved as, or why not.
/** @param {string} text @returns {{ title: string, error?: undefined } | { error: string, title?: undefined }} */
export function cleanTitle(text) {
  const title = text.replace(/\s+/g, " ").trim();
  if (!title) return { error: "A title cannot be empty." };
  if (title.length > TITLE_MAX) return { error: `A title has at most ${TITLE_MAX} characters.` };
  return { title };
}

// A row's title: untitled conversations (no user turn yet) are named by their start.
/** @param {Conversation} conversation @param {(date: Date) => string} [format] @returns {string} */
export function displayTitle(conversation, format = defaultDate) {
  return conversation.title || `Conversation of ${format(new Date(/** @type {string} */ (conversation.created_at)))}`;
}

// "Last activity" in words: recent times relative, older ones as a date.
/** @param {string} iso @param {number} [now] @param {(date: Date) => string} [format] @returns {string} */
export function lastActivity(iso, now = Date.now(), format = defaultDate) {
  const then = new Date(iso).getTime();
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 2 * 86400) return "yesterday";
  if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)} days ago`;
  return format(new Date(then));
}

/** @param {Date} date */
function defaultDate(date) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(date);
}

// Calls `fn` once input has paused for `ms`; the clock is injected for tests.
/**
 * @template {unknown[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @param {{
 *   setTimer?: (run: () => void, ms: number) => number,
 *   clearTimer?: (timer: number | undefined) => void,
 * }} [clock]
 * @returns {((...args: A) => void) & { cancel(): void }}
 */
export function debounced(fn, ms, { setTimer = setTimeout, clearTimer = clearTimeout } = {}) {
  /** @type {number | undefined} */
  let timer;
  /** @param {A} args */
  const call = (...args) => {
    clearTimer(timer);
    timer = setTimer(() => {
      timer = undefined;
      fn(...args);
    }, ms);
  };
  call.cancel = () => clearTimer(timer);
  return call;
}
