// Speaks sentences in order, without gaps: each sentence's audio is fetched as soon as it is
// queued (a few at a time) and handed to the player the moment it is ready; the player
// schedules it right after what it already has, so playback runs back to back. Stopping
// reports what was heard, so an interrupted reply can be saved as heard.
//
// The audio itself is injected: `fetchAudio(text, signal)` resolves to something `play` can
// play; `play(audio)` schedules it after the previous one and returns
// { ended: Promise, stop(), elapsed(): seconds since it began (< 0 before), duration }.

/** @typedef {{ ended: Promise<unknown>, stop(): void, elapsed(): number, duration: number }} Playback */

/** @template Audio what `fetchAudio` resolves to and `play` plays */
export class PlaybackQueue extends EventTarget {
  /**
   * @param {{
   *   fetchAudio: (text: string, signal: AbortSignal) => Promise<Audio>,
   *   play: (audio: Audio) => Playback,
   *   prefetch?: number,
   * }} options
   */
  constructor({ fetchAudio, play, prefetch = 3 }) {
    super();
    this.fetchAudio = fetchAudio;
    this.play = play;
    this.prefetch = prefetch;
    /** @type {{ text: string, audio: Promise<Audio> | null }[]} */
    this.pending = []; // { text, audio: Promise|null }, not yet handed to the player
    /** @type {{ text: string, playback: Playback }[]} */
    this.scheduled = []; // { text, playback }, handed over, in order
    /** @type {string[]} */
    this.heard = []; // texts played to the end
    this.controller = new AbortController();
    this.running = false;
    this.stopped = false;
  }

  get idle() {
    return this.scheduled.length === 0 && this.pending.length === 0;
  }

  /** @param {string} text */
  enqueue(text) {
    this.pending.push({ text, audio: null });
    this.#prefetch();
    if (!this.running) this.#run();
  }

  // Stop at once; returns { heard, cut }: the sentences heard to the end, and the heard part
  // of the one that was playing.
  /** @returns {{ heard: string[], cut: string }} */
  stop() {
    this.stopped = true;
    this.controller.abort();
    let cut = "";
    for (const { text, playback } of this.scheduled) {
      const elapsed = playback.elapsed();
      if (elapsed > 0 && elapsed < playback.duration) cut = heardPart(text, elapsed / playback.duration);
      playback.stop();
    }
    const heard = this.heard;
    this.pending = [];
    this.scheduled = [];
    this.heard = [];
    return { heard, cut };
  }

  #prefetch() {
    for (const entry of this.pending.slice(0, this.prefetch)) {
      if (!entry.audio) {
        entry.audio = this.fetchAudio(entry.text, this.controller.signal);
        entry.audio.catch(() => {}); // reported when its turn comes
      }
    }
  }

  async #run() {
    this.running = true;
    while (this.pending.length && !this.stopped) {
      const entry = this.pending[0];
      this.#prefetch();
      let audio;
      try {
        audio = await /** @type {Promise<Audio>} */ (entry.audio); // #prefetch started it
      } catch (error) {
        if (this.stopped || /** @type {Error | null} */ (error)?.name === "AbortError") break;
        this.pending.shift();
        this.dispatchEvent(new CustomEvent("error", { detail: error }));
        continue;
      }
      if (this.stopped) break;
      this.pending.shift();
      this.#schedule(entry.text, audio);
    }
    this.running = false;
    this.#announceIdle();
  }

  /** @param {string} text @param {Audio} audio */
  #schedule(text, audio) {
    const scheduled = { text, playback: this.play(audio) };
    this.scheduled.push(scheduled);
    if (this.scheduled.length === 1) this.dispatchEvent(new Event("playing"));
    scheduled.playback.ended.then(() => {
      if (this.stopped) return;
      this.heard.push(text);
      this.scheduled = this.scheduled.filter((s) => s !== scheduled);
      this.#announceIdle();
    });
  }

  #announceIdle() {
    if (this.idle && !this.running && !this.stopped) this.dispatchEvent(new Event("idle"));
  }
}

// The start of `text` heard after `fraction` of its audio, in whole words.
/** @param {string} text @param {number} fraction @returns {string} */
function heardPart(text, fraction) {
  const at = Math.floor(text.length * fraction);
  const part = text.slice(0, at);
  return at < text.length && /\S/.test(text[at]) ? part.replace(/\s*\S*$/, "") : part;
}
