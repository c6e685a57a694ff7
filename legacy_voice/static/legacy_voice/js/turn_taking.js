// Legacy turn-taking as a pure module: events in (mic level frames, playback level, playback
// started/ended, transcripts, push-to-talk), decisions out. No DOM, no timers: the Legacy call
// feeds it and carries the decisions out, and node tests drive it frame by frame.
//
// Decisions (each method returns a list of them):
//   { type: "start_recording" }          record the caller from now on (a fresh recording)
//   { type: "end_turn", turn }           stop recording; the recording is the caller's turn
//   { type: "discard_turn", reason }     stop recording and drop it ("backchannel", "no_speech",
//                                        "fresh_start", "push_to_talk")
//   { type: "interrupt_reply", afterMs } the caller really talks over the reply: cut it
//                                        (`afterMs`: since the speech over it began)
// A transcript gets one answer: { type: "send", text } or { type: "ignore", reason }.
//
// The rules, and why:
// - While the assistant speaks, a short sound (a backchannel such as "mm-hm", under
//   `backchannelMs`) neither cuts the reply nor becomes a turn; people say it to show they
//   listen. Speech above the threshold for `bargeInMs` (voiced frames, brief dips between
//   syllables allowed) cuts the reply at once and becomes the next turn.
// - The reply's own voice leaks back into the microphone (more so without headphones, and the
//   browser's echo cancellation is not perfect): the detector's input is reduced by the playback
//   level scaled by an echo-path estimate, so playback alone never reaches the threshold. The
//   estimate starts cautious and is learnt while the reply plays and nobody speaks: quickly
//   upwards (a loud echo), slowly downwards (headphones, good echo cancellation), so that real
//   speech over the reply is not held to the cautious guess for the whole call.
// - Speech-to-text invents words out of near-silence ("Thank you.", "Thanks for watching"): a
//   transcript that is only such an artefact, from a turn with little speech energy, is
//   dropped; so is a transcript that is only a backchannel word, from a turn said over the reply.
// - Push-to-talk: recording only while the button is held; the hold delimits the turn, and
//   pressing it while the assistant speaks cuts the reply (the caller asked for the floor).

import { VoiceActivity } from "./vad.js";

/** @typedef {import("./vad.js").VadOptions} VadOptions */
/**
 * @typedef {object} TurnEnergy how much speech a turn held: it judges the turn's transcript
 * @property {number} voicedMs
 * @property {number} peakRatio
 * @property {boolean} duringReply
 */
/**
 * @typedef {TurnEnergy & {
 *   startedAt: number, endedAt: number, spokenMs: number, bargedIn: boolean, pushToTalk: boolean,
 * }} Turn
 */
/**
 * @typedef {object} Segment
 * @property {number} startedAt
 * @property {number} lastVoicedAt
 * @property {number} voicedMs
 * @property {number} overReplyMs
 * @property {number | null} overReplySince
 * @property {number} peak
 * @property {boolean} duringReply
 * @property {boolean} bargedIn
 * @property {number} [threshold]
 */
/**
 * @typedef {{ type: "start_recording" }
 *   | { type: "end_turn", turn: Turn }
 *   | { type: "discard_turn", reason: string }
 *   | { type: "interrupt_reply", afterMs?: number }} Decision
 */
/** @typedef {{ type: "send", text: string } | { type: "ignore", reason: string }} TranscriptAnswer */

export const TURN_DEFAULTS = {
  bargeInMs: 400, // voiced this long over the reply: real speech, the reply stops
  backchannelMs: 600, // shorter than this over the reply (and not yet a barge-in): a backchannel
  echoPath: 0.3, // ≈ −10 dB from speaker to microphone: the first guess, cautious (echo
  //               cancellation leaves −20 dB and less), until the call's own echo is learnt
  minEchoPath: 0.03, // ≈ −30 dB: the estimate never trusts the echo cancellation further
  echoMargin: 1.5, // the echo's level wavers from frame to frame: estimate above what is seen
  learnAfterMs: 200, // a frame teaches the estimate once it is clearly not a word's onset
  learnFloor: 0.02, // playback quieter than this teaches nothing (the ratio is noise)
  playbackHoldMs: 250, // the echo arrives late and lingers: hold the playback level this long
  maxListenMs: 30000, // a recording without speech this long is started afresh (small uploads)
  lowEnergyVoicedMs: 300, // a turn voiced for less than this has little speech energy…
  lowEnergyPeakRatio: 2.5, // …as has one whose peak stays below this many times the threshold
};

// Spoken-language backchannels, as speech-to-text writes them (hyphens read as spaces).
const BACKCHANNELS = [
  "mm",
  "mmm",
  "mhm",
  "mm hm",
  "mm hmm",
  "mmhmm",
  "hm",
  "hmm",
  "uh huh",
  "uh hum",
  "aha",
  "ah",
  "oh",
  "uh",
  "um",
  "yeah",
  "yep",
  "yes",
  "yup",
  "ok",
  "okay",
  "right",
  "sure",
  "alright",
  "all right",
  "i see",
  "got it",
  "true",
  "exactly",
  "cool",
  "nice",
  "wow",
].map((phrase) => phrase.split(" "));

// What speech-to-text models write for silence or noise (Whisper's training on subtitles).
const SILENCE_ARTEFACTS = new Set([
  "you",
  "thank you",
  "thanks",
  "thank you very much",
  "thank you so much",
  "thanks for watching",
  "thank you for watching",
  "thanks for watching and please subscribe",
  "please subscribe",
  "bye",
  "bye bye",
  "so",
  "the",
  "subtitles by the amara org community",
]);

/** @param {string | null | undefined} text @returns {string[]} */
export function words(text) {
  return (text ?? "")
    .toLowerCase()
    .replace(/[-‐–—_]/g, " ")
    .replace(/[^\p{L}\p{N}'\s]/gu, " ")
    .split(/\s+/)
    .filter(Boolean);
}

// Only backchannel words ("Mm-hm.", "Yeah, yeah.", "Okay, right."), nothing else.
/** @param {string | null | undefined} text */
export function isBackchannel(text) {
  let rest = words(text);
  if (!rest.length) return false;
  while (rest.length) {
    const match = BACKCHANNELS.filter((phrase) => phrase.every((word, i) => rest[i] === word)).sort(
      (a, b) => b.length - a.length,
    )[0];
    if (!match) return false;
    rest = rest.slice(match.length);
  }
  return true;
}

/** @param {string | null | undefined} text */
export function isSilenceArtefact(text) {
  return SILENCE_ARTEFACTS.has(words(text).join(" "));
}

export class TurnTaking {
  /** @param {{ pushToTalk?: boolean, vad?: Partial<VadOptions> } & Partial<typeof TURN_DEFAULTS>} [options] */
  constructor({ pushToTalk = false, vad = {}, ...options } = {}) {
    this.options = { ...TURN_DEFAULTS, ...options };
    this.vad = new VoiceActivity(vad);
    this.pushToTalk = pushToTalk;
    this.held = false; // push-to-talk: the button is down
    this.assistantSpeaking = false;
    this.playback = 0; // the held playback level
    this.echoPath = this.options.echoPath; // the learnt estimate
    /** @type {[at: number, ratio: number][]} */
    this.echoSamples = []; // [at, mic/playback ratio] waiting to teach the estimate
    /** @type {Segment | null} */
    this.segment = null; // the speech heard in the current recording, while it lasts
    /** @type {Turn | null} */
    this.lastTurn = null; // the last turn handed out (its energy judges its transcript)
    /** @type {number | null} */
    this.recordingSince = null; // when the current recording began; null when not recording
  }

  // The call has begun: hands-free records at once; push-to-talk waits for the button.
  /** @param {number} at @returns {Decision[]} */
  start(at) {
    return this.pushToTalk ? [] : this.#startRecording(at);
  }

  get recording() {
    return this.recordingSince !== null;
  }

  // The caller can be heard now: always hands-free, only while holding in push-to-talk.
  get listening() {
    return this.pushToTalk ? this.held : true;
  }

  // One mic frame: `level` is the mic's RMS (0–1), `playbackLevel` the RMS of what is being
  // played at that moment, `at` a timestamp in ms, `dtMs` the frame's length.
  /**
   * @param {{ level: number, playbackLevel?: number, at: number, dtMs: number }} frame
   * @returns {Decision[]}
   */
  frame({ level, playbackLevel = 0, at, dtMs }) {
    this.playback = Math.max(playbackLevel, this.playback * Math.exp(-dtMs / this.options.playbackHoldMs));
    const gated = Math.max(0, level - this.echoPath * this.playback);
    const event = this.vad.feed(gated, dtMs);
    this.#learnEcho(level, at, event);
    if (event === "speech_start" && !this.pushToTalk) this.#segmentStart(gated, at);
    else if (this.segment) this.#segmentFrame(gated, at, dtMs);
    /** @type {Decision[]} */
    const decisions = [];
    if (this.segment && this.#bargesIn()) {
      this.segment.bargedIn = true;
      // A barge-in needs speech over the reply, which set overReplySince.
      const overReplySince = /** @type {number} */ (this.segment.overReplySince);
      decisions.push({ type: "interrupt_reply", afterMs: at - overReplySince });
    }
    if (event === "speech_end" && this.segment && !this.pushToTalk) decisions.push(...this.#segmentEnd(at));
    else if (this.#silentTooLong(at)) decisions.push(...this.#restart("fresh_start", at));
    return decisions;
  }

  /** @param {number} at @returns {Decision[]} */
  playbackStarted(at) {
    this.assistantSpeaking = true;
    if (this.segment && !this.pushToTalk) this.segment.duringReply = true;
    // What was recorded before the reply is nobody's words: begin afresh, without it.
    return this.#idleHandsFree() ? this.#restart("fresh_start", at) : [];
  }

  // The reply ended (played out or cut): listening again at once, on a fresh recording so the
  // reply's echo is not part of the next turn.
  /** @param {number} at @returns {Decision[]} */
  playbackEnded(at) {
    this.assistantSpeaking = false;
    return this.#idleHandsFree() ? this.#restart("fresh_start", at) : [];
  }

  // A transcript for `turn` (a turn from end_turn; for the browser's own recognition, which
  // ends turns itself, `recognitionTurn()`).
  /** @param {{ text: string | null | undefined, turn?: TurnEnergy | null }} transcript @returns {TranscriptAnswer} */
  transcript({ text, turn = this.lastTurn }) {
    const said = (text ?? "").trim();
    if (!said || !words(said).length) return { type: "ignore", reason: "empty" };
    if (turn?.duringReply && isBackchannel(said)) return { type: "ignore", reason: "backchannel" };
    if (isSilenceArtefact(said) && this.#lowEnergy(turn)) return { type: "ignore", reason: "silence_artefact" };
    return { type: "send", text: said };
  }

  // The browser's recognition decides turns itself: its result is judged by the speech heard
  // lately (the segment still open, or the last one), or as no speech at all.
  /** @param {number} at @returns {TurnEnergy} */
  recognitionTurn(at) {
    if (this.segment) return this.#turnOf(this.segment, at);
    return this.lastTurn ?? { voicedMs: 0, peakRatio: 0, duringReply: this.assistantSpeaking };
  }

  /** @param {number} at @returns {Decision[]} */
  pttPress(at) {
    if (!this.pushToTalk || this.held) return [];
    this.held = true;
    /** @type {Decision[]} */
    const decisions = this.assistantSpeaking ? [{ type: "interrupt_reply" }] : [];
    this.segment = { ...this.#newSegment(at), duringReply: false }; // asked for the floor
    return [...decisions, ...this.#startRecording(at)];
  }

  /** @param {number} at @returns {Decision[]} */
  pttRelease(at) {
    if (!this.pushToTalk || !this.held) return [];
    this.held = false;
    const segment = this.segment;
    this.segment = null;
    this.recordingSince = null;
    if (!segment || segment.voicedMs === 0) return [{ type: "discard_turn", reason: "no_speech" }];
    return [this.#endTurn(segment, at)];
  }

  /** @param {boolean} on @param {number} at @returns {Decision[]} */
  setPushToTalk(on, at) {
    if (on === this.pushToTalk) return [];
    this.pushToTalk = on;
    this.held = false;
    this.segment = null;
    const wasRecording = this.recording;
    this.recordingSince = null;
    /** @type {Decision[]} */
    const dropped = wasRecording ? [{ type: "discard_turn", reason: "push_to_talk" }] : [];
    return on ? dropped : [...dropped, ...this.#startRecording(at)];
  }

  // --- internals ------------------------------------------------------------------------------

  // What the microphone hears while the reply plays and nobody speaks is echo: its ratio to the
  // playback level is the echo path. A frame waits `learnAfterMs` first, and is forgotten if
  // speech starts meanwhile: the caller's first syllable is not echo.
  /** @param {number} level @param {number} at @param {string | null} event */
  #learnEcho(level, at, event) {
    if (event === "speech_start" || this.segment) {
      this.echoSamples = [];
      return;
    }
    if (this.assistantSpeaking && this.playback >= this.options.learnFloor) {
      this.echoSamples.push([at, Math.min(1, level / this.playback)]);
    }
    const { echoMargin, minEchoPath, learnAfterMs } = this.options;
    while (this.echoSamples.length && at - this.echoSamples[0][0] >= learnAfterMs) {
      const [, ratio] = /** @type {[number, number]} */ (this.echoSamples.shift());
      const target = Math.max(minEchoPath, ratio * echoMargin);
      this.echoPath += (target - this.echoPath) * (target > this.echoPath ? 0.3 : 0.01);
    }
  }

  /** @param {number} at @returns {Segment} */
  #newSegment(at) {
    return {
      startedAt: at,
      lastVoicedAt: at,
      voicedMs: 0,
      overReplyMs: 0, // voiced while the reply played: only this counts towards a barge-in
      overReplySince: null, // when that speech began
      peak: 0,
      duringReply: this.assistantSpeaking,
      bargedIn: false,
    };
  }

  // The detector needed `startMs` above the threshold to be sure: the speech began that long ago.
  /** @param {number} gated @param {number} at */
  #segmentStart(gated, at) {
    this.segment = this.#newSegment(at - this.vad.aboveMs);
    this.segment.voicedMs = this.vad.aboveMs;
    if (this.assistantSpeaking) {
      this.segment.overReplyMs = this.vad.aboveMs;
      this.segment.overReplySince = at - this.vad.aboveMs;
    }
    this.segment.lastVoicedAt = at;
    this.segment.peak = gated;
    this.segment.threshold = this.vad.startThreshold;
  }

  /** @param {number} gated @param {number} at @param {number} dtMs */
  #segmentFrame(gated, at, dtMs) {
    const segment = /** @type {Segment} */ (this.segment); // only called while one is open
    if (this.assistantSpeaking && !this.pushToTalk) segment.duringReply = true;
    segment.threshold = this.vad.startThreshold;
    segment.peak = Math.max(segment.peak, gated);
    if (gated > segment.threshold) {
      segment.voicedMs += dtMs;
      if (this.assistantSpeaking) {
        segment.overReplyMs += dtMs;
        segment.overReplySince ??= at - dtMs;
      }
      segment.lastVoicedAt = at;
    }
  }

  #bargesIn() {
    const segment = this.segment;
    if (!segment || segment.bargedIn || this.pushToTalk || !this.assistantSpeaking) return false;
    return segment.overReplyMs >= this.options.bargeInMs;
  }

  /** @param {number} at @returns {Decision[]} */
  #segmentEnd(at) {
    const segment = /** @type {Segment} */ (this.segment); // only called while one is open
    this.segment = null;
    this.lastTurn = this.#turnOf(segment, at); // the browser's recognition may still report it
    const spokenMs = segment.lastVoicedAt - segment.startedAt;
    if (segment.duringReply && !segment.bargedIn && spokenMs < this.options.backchannelMs) {
      return this.#restart("backchannel", at);
    }
    this.recordingSince = null;
    return [this.#endTurn(segment, at), ...this.#startRecording(at)];
  }

  /** @param {Segment} segment @param {number} at @returns {Decision} */
  #endTurn(segment, at) {
    const turn = this.#turnOf(segment, at);
    this.lastTurn = turn;
    return { type: "end_turn", turn };
  }

  /** @param {Segment} segment @param {number} at @returns {Turn} */
  #turnOf(segment, at) {
    const threshold = segment.threshold ?? this.vad.startThreshold;
    return {
      startedAt: segment.startedAt,
      endedAt: at,
      spokenMs: segment.lastVoicedAt - segment.startedAt,
      voicedMs: segment.voicedMs,
      peakRatio: threshold > 0 ? segment.peak / threshold : 0,
      duringReply: segment.duringReply,
      bargedIn: segment.bargedIn,
      pushToTalk: this.pushToTalk,
    };
  }

  /** @param {TurnEnergy | null | undefined} turn */
  #lowEnergy(turn) {
    if (!turn) return true;
    return turn.voicedMs < this.options.lowEnergyVoicedMs || turn.peakRatio < this.options.lowEnergyPeakRatio;
  }

  /** @param {number} at */
  #silentTooLong(at) {
    // Idle hands-free means recording, so recordingSince is set.
    return this.#idleHandsFree() && at - /** @type {number} */ (this.recordingSince) > this.options.maxListenMs;
  }

  #idleHandsFree() {
    return !this.pushToTalk && this.recording && !this.segment;
  }

  /** @param {string} reason @param {number} at @returns {Decision[]} */
  #restart(reason, at) {
    return [{ type: "discard_turn", reason }, ...this.#startRecording(at)];
  }

  /** @param {number} at @returns {Decision[]} */
  #startRecording(at) {
    this.recordingSince = at;
    return [{ type: "start_recording" }];
  }
}
