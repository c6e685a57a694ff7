// Speaks sentences in order, gaplessly: each sentence's audio is fetched as soon as it is
// queued (a few at a time), but played strictly one after another. Stopping reports what was
// heard, so an interrupted reply can be saved as heard.
//
// The audio itself is injected: `fetchAudio(text, signal)` resolves to something `play` can
// play; `play(audio)` returns { ended: Promise, stop(), elapsed(): seconds, duration }.

export class PlaybackQueue extends EventTarget {
  constructor({ fetchAudio, play, prefetch = 3 }) {
    super();
    this.fetchAudio = fetchAudio;
    this.play = play;
    this.prefetch = prefetch;
    this.pending = []; // { text, audio: Promise|null }
    this.current = null; // { text, playback }
    this.heard = []; // texts played to the end
    this.controller = new AbortController();
    this.running = false;
  }

  get idle() {
    return !this.current && this.pending.length === 0;
  }

  enqueue(text) {
    this.pending.push({ text, audio: null });
    this.#prefetch();
    if (!this.running) this.#run();
  }

  // Stop at once; returns { heard, cut } — the full sentences heard, and the heard part of
  // the sentence that was playing.
  stop() {
    this.controller.abort();
    this.controller = new AbortController();
    let cut = "";
    if (this.current) {
      const { text, playback } = this.current;
      const fraction = playback.duration ? Math.min(1, playback.elapsed() / playback.duration) : 0;
      const at = Math.floor(text.length * fraction);
      cut = text.slice(0, at);
      if (at < text.length && /\S/.test(text[at])) cut = cut.replace(/\s*\S*$/, ""); // mid-word
      playback.stop();
    }
    const heard = this.heard;
    this.pending = [];
    this.current = null;
    this.heard = [];
    return { heard, cut };
  }

  #prefetch() {
    const signal = this.controller.signal;
    for (const entry of this.pending.slice(0, this.prefetch)) {
      if (!entry.audio) {
        entry.audio = this.fetchAudio(entry.text, signal);
        entry.audio.catch(() => {}); // reported when its turn comes
      }
    }
  }

  async #run() {
    this.running = true;
    try {
      while (this.pending.length) {
        const entry = this.pending[0];
        this.#prefetch();
        let audio;
        try {
          audio = await entry.audio;
        } catch (error) {
          if (error?.name === "AbortError") return;
          this.pending.shift();
          this.dispatchEvent(new CustomEvent("error", { detail: error }));
          continue;
        }
        if (this.pending[0] !== entry) return; // stopped meanwhile
        this.pending.shift();
        const playback = this.play(audio);
        this.current = { text: entry.text, playback };
        this.dispatchEvent(new Event("playing"));
        await playback.ended;
        if (this.current?.playback !== playback) return; // stopped
        this.heard.push(entry.text);
        this.current = null;
      }
    } finally {
      this.running = false;
      if (this.idle) this.dispatchEvent(new Event("idle"));
    }
  }
}
