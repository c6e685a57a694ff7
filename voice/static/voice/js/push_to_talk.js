// Push-to-talk as pure decisions, no DOM: whether a call runs on held turns, who holds the
// button (pointer and space bar together), whether a key press is ours to take, what a
// Realtime call sends upstream on press and release, and what the call bar says.
// push_to_talk_controls.js wires these to the page; realtime_call.js sends the events.

// A press shorter than this is a tap, not a turn: OpenAI refuses to commit under 100 ms of
// audio, and a reply to a click's worth of nothing would only puzzle the user.
export const MIN_HOLD_MS = 250;
// The microphone stays on this long after release, so the last syllable still in flight
// reaches OpenAI before the commit does (media and data channel travel separately).
export const RELEASE_TAIL_MS = 200;

/** @typedef {{ realtime?: { turn_detection?: string }, preference?: { push_to_talk?: boolean } }} CallConfig */
/** @typedef {"pointer" | "key"} Holder */
/** @typedef {{ type: string } & Record<string, unknown>} ClientEvent an event for OpenAI's data channel */

// Whether a call in `mode` runs on held turns: always for Realtime under the admin's manual
// turns (the session has no turn detection, nothing else would ever answer); else the user's
// preference, in Legacy only when its client can do it.
/**
 * @param {string} mode
 * @param {CallConfig} config
 * @param {{ legacySupported?: boolean }} [support]
 * @returns {boolean}
 */
export function pushToTalkFor(mode, config, { legacySupported = true } = {}) {
  if (mode === "realtime" && config.realtime?.turn_detection === "manual") return true;
  if (mode === "legacy" && !legacySupported) return false;
  return Boolean(config.preference?.push_to_talk);
}

// The settings toggle for `mode`: checked as the call would run, fixed when the user cannot
// change it (a live call keeps its turn taking; the admin's manual turns; no Legacy support).
/**
 * @param {string} mode
 * @param {CallConfig} config
 * @param {{ live?: boolean, legacySupported?: boolean }} [context]
 * @returns {{ checked: boolean, disabled: boolean, title: string }}
 */
export function toggleView(mode, config, { live = false, legacySupported = true } = {}) {
  const checked = pushToTalkFor(mode, config, { legacySupported });
  if (mode === "realtime" && config.realtime?.turn_detection === "manual") {
    return { checked, disabled: true, title: "The administrator set Realtime calls to push-to-talk." };
  }
  if (mode === "legacy" && !legacySupported) {
    return { checked, disabled: true, title: "Push-to-talk is not available in Legacy mode." };
  }
  if (live) return { checked, disabled: true, title: "Changes apply to the next call." };
  return { checked, disabled: false, title: "Talk only while holding the button or the space bar." };
}

// Holders: the sources holding the button now ("pointer", "key"). The turn starts with the
// first and ends with the last, so a space bar released while the mouse still holds (or the
// other way round) does not end it.
/** @param {ReadonlySet<Holder>} holders @param {Holder} source */
export function hold(holders, source) {
  const next = new Set(holders).add(source);
  return { holders: next, pressed: holders.size === 0 };
}

/** @param {ReadonlySet<Holder>} holders @param {Holder} source */
export function letGo(holders, source) {
  if (!holders.has(source)) return { holders, released: false };
  const next = new Set(holders);
  next.delete(source);
  return { holders: next, released: next.size === 0 };
}

// Focus left the page (another window, a hidden tab): the keyup or pointerup will never come.
/** @param {ReadonlySet<Holder>} holders */
export function letGoAll(holders) {
  return { holders: /** @type {Set<Holder>} */ (new Set()), released: holders.size > 0 };
}

const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);

// Whether a space bar event belongs to push-to-talk: not while typing or choosing (text
// fields, lists, the toggle itself, editable text), nor with a modifier (browser shortcuts).
// On a button the hold wins over clicking it, or space would press whatever was clicked last.
/** @param {Pick<KeyboardEvent, "code" | "key" | "altKey" | "ctrlKey" | "metaKey" | "target">} event */
export function spaceIsOurs(event) {
  if (event.code !== "Space" && event.key !== " ") return false;
  if (event.altKey || event.ctrlKey || event.metaKey) return false;
  const target = /** @type {Partial<HTMLElement>} */ (event.target ?? {});
  return !TYPING_TAGS.has(target.tagName ?? "") && !target.isContentEditable;
}

// The client events of a press: drop whatever the buffer held from before, and if the
// assistant is talking, stop it: cancel the response still generating (only when one is, or
// OpenAI answers with an error) and cut the audio still queued for playback.
/** @param {{ responseActive?: boolean, speaking?: boolean }} [assistant] @returns {ClientEvent[]} */
export function pressEvents({ responseActive = false, speaking = false } = {}) {
  const events = [{ type: "input_audio_buffer.clear" }];
  if (responseActive) events.push({ type: "response.cancel" });
  if (speaking || responseActive) events.push({ type: "output_audio_buffer.clear" });
  return events;
}

// The client events of a release: the held audio becomes the user's turn and is answered; a
// tap is dropped.
/** @param {{ heldMs: number }} release @returns {ClientEvent[]} */
export function releaseEvents({ heldMs }) {
  if (heldMs < MIN_HOLD_MS) return [{ type: "input_audio_buffer.clear" }];
  return [{ type: "input_audio_buffer.commit" }, { type: "response.create" }];
}

// The response OpenAI is generating, followed through its server events (null when none).
// `current` may be "requested": a response.create was sent and no response.created has named
// it yet; an error meanwhile means it was refused, and nothing is left to cancel.
/**
 * @param {string | null} current
 * @param {{ type?: string, response?: { id?: string } } | null | undefined} event
 * @returns {string | null}
 */
export function activeResponse(current, event) {
  if (event?.type === "response.created") return event.response?.id ?? current;
  if (event?.type === "response.done" && (!current || event.response?.id === current)) return null;
  if (event?.type === "error" && current === "requested") return null;
  return current;
}

// The button and the call bar: hidden outside a push-to-talk call, waiting while it connects,
// then saying plainly whether the microphone is on.
/**
 * @param {{ on: boolean, status: string, held: boolean }} call
 * @returns {{ hidden: boolean, disabled: boolean, state: string, label: string }}
 */
export function buttonView({ on, status, held }) {
  const live = !["idle", "ended", "error"].includes(status);
  if (!on || !live) return { hidden: true, disabled: true, state: "off", label: "Hold to talk" };
  if (status === "connecting") return { hidden: false, disabled: true, state: "waiting", label: "Hold to talk" };
  if (held) return { hidden: false, disabled: false, state: "listening", label: "Listening… release to send" };
  return { hidden: false, disabled: false, state: "hold", label: "Hold to talk" };
}
