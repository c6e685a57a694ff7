// The call's audio on the page: unlocking playback inside the start tap, the level ring that
// breathes with the microphone (or with the assistant while it speaks), and the screen wake lock.

import { AudioLevel } from "../../js/audio_level.js";

export class CallAudio {
  constructor({ ring, element }) {
    this.ring = ring;
    this.element = element;
    this.context = null;
    this.mic = null;
    this.assistant = null;
    this.frame = null;
    this.wakeLock = null;
    this.call = null;
    this.muted = false;
  }

  // Inside the tap: mobile browsers play nothing otherwise.
  unlock() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!this.context && Context) this.context = new Context();
    this.context?.resume().catch(() => {});
    this.element.play().catch(() => {}); // an empty play() in the gesture unlocks later playback
  }

  // Meter the call's current streams (a switched microphone is a new stream).
  follow(call, muted) {
    this.call = call;
    this.muted = muted;
    if (!this.context || !call) return;
    this.mic = this.#meterFor(this.mic, call.localStream);
    this.assistant = this.#meterFor(this.assistant, call.remoteStream);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.#draw());
  }

  stop() {
    this.call = null;
    this.mic?.disconnect();
    this.assistant?.disconnect();
    this.mic = this.assistant = null;
    this.ring.style.setProperty("--level", 0);
    this.releaseWakeLock();
  }

  async keepAwake() {
    try {
      this.wakeLock = await navigator.wakeLock?.request("screen");
    } catch {
      this.wakeLock = null; // not granted (battery saver, unsupported): the call still works
    }
  }

  releaseWakeLock() {
    this.wakeLock?.release().catch(() => {});
    this.wakeLock = null;
  }

  #meterFor(meter, stream) {
    if (meter?.stream === stream) return meter;
    meter?.disconnect();
    return stream ? new AudioLevel(this.context, stream) : null;
  }

  #draw() {
    this.frame = null;
    if (!this.call) return;
    const source = this.call.status === "speaking" ? this.assistant : this.mic;
    const level = this.muted && source === this.mic ? 0 : (source?.read() ?? 0);
    this.ring.style.setProperty("--level", level.toFixed(3));
    this.frame = requestAnimationFrame(() => this.#draw());
  }
}
