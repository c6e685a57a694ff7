// Voice activity detection over mic levels (RMS, 0–1), as a pure state machine.
//
// The noise floor is calibrated while nobody speaks; speech starts above a start threshold and
// ends only after a short hangover below a lower end threshold (hysteresis), so a breath or a
// pause between words does not end the turn, and the turn ends within ~0.6 s of silence.

export const DEFAULTS = {
  calibrationMs: 400,
  startRatio: 3.0, // start threshold: this many times the noise floor…
  endRatio: 1.8, // …end threshold: lower, so speech does not flicker off mid-word
  minStartLevel: 0.015, // a silent room still needs a real voice to start a turn
  startMs: 120, // above the start threshold this long: speech has started
  hangoverMs: 600, // below the end threshold this long: the turn is over
};

/** @typedef {typeof DEFAULTS} VadOptions */
/** @typedef {"calibrating" | "silence" | "speech"} VadState */

export class VoiceActivity {
  /** @param {Partial<VadOptions>} [options] */
  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options };
    /** @type {VadState} */
    this.state = "calibrating";
    this.floor = 0;
    this.elapsedMs = 0;
    this.aboveMs = 0; // continuously above the start threshold (barge-in uses it)
    this.belowMs = 0;
  }

  get startThreshold() {
    return Math.max(this.options.minStartLevel, this.floor * this.options.startRatio);
  }

  get endThreshold() {
    return Math.max(this.options.minStartLevel * 0.6, this.floor * this.options.endRatio);
  }

  // One frame: returns "speech_start", "speech_end" or null.
  /** @param {number} level @param {number} dtMs @returns {"speech_start" | "speech_end" | null} */
  feed(level, dtMs) {
    this.elapsedMs += dtMs;
    if (this.state === "calibrating") {
      this.floor = this.floor === 0 ? level : this.floor * 0.8 + level * 0.2;
      if (this.elapsedMs >= this.options.calibrationMs) this.state = "silence";
      return null;
    }
    this.aboveMs = level > this.startThreshold ? this.aboveMs + dtMs : 0;
    if (this.state === "silence") {
      if (level < this.startThreshold) this.floor = this.floor * 0.98 + level * 0.02; // drift
      if (this.aboveMs >= this.options.startMs) {
        this.state = "speech";
        this.belowMs = 0;
        return "speech_start";
      }
      return null;
    }
    this.belowMs = level < this.endThreshold ? this.belowMs + dtMs : 0;
    if (this.belowMs >= this.options.hangoverMs) {
      this.state = "silence";
      return "speech_end";
    }
    return null;
  }
}
