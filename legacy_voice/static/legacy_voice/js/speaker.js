// The assistant's voice on the page: the server's speech (raw PCM) scheduled back to back on
// the audio clock, or the browser's own speechSynthesis. Everything played passes one bus
// whose level the turn-taking reads, so the reply's echo in the microphone can be told from
// the caller's voice.
//
// `play` and `say` return what PlaybackQueue expects:
// { ended: Promise, duration, elapsed(): seconds since it began (< 0 before), stop() }.

const PCM_RATE = 24000; // the speech endpoint's raw PCM: 24 kHz, 16-bit, mono
// speechSynthesis plays outside Web Audio, so its level cannot be read: while it speaks, the
// echo gate assumes a typical speech level.
const SYNTHESIS_LEVEL = 0.1;

export class Speaker {
  constructor(audio) {
    this.audio = audio;
    this.bus = audio.createGain();
    this.analyser = audio.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.bus.connect(this.analyser);
    this.bus.connect(audio.destination);
    this.playhead = 0;
    this.saying = 0; // utterances speechSynthesis is speaking now
  }

  // RMS (0–1) of what is being played right now.
  level() {
    if (this.saying) return SYNTHESIS_LEVEL;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    return Math.sqrt(sum / this.samples.length);
  }

  // The speech endpoint's bytes as an AudioBuffer.
  pcmBuffer(bytes) {
    const samples = new Int16Array(bytes);
    const buffer = this.audio.createBuffer(1, Math.max(1, samples.length), PCM_RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i += 1) channel[i] = samples[i] / 32768;
    return buffer;
  }

  // Scheduled right after the previous sentence: no gap between them.
  play(buffer) {
    const node = this.audio.createBufferSource();
    node.buffer = buffer;
    node.connect(this.bus);
    const startAt = Math.max(this.audio.currentTime, this.playhead);
    this.playhead = startAt + buffer.duration;
    const ended = new Promise((resolve) => {
      node.onended = resolve;
    });
    node.start(startAt);
    return {
      ended,
      duration: buffer.duration,
      elapsed: () => this.audio.currentTime - startAt,
      stop: () => {
        node.stop();
        this.playhead = 0;
      },
    };
  }

  // The browser's own voice, when the user picked it.
  say(text) {
    const utterance = new SpeechSynthesisUtterance(text);
    let startedAt = null; // speechSynthesis queues utterances: this one may not have begun
    let over = false;
    const finish = () => {
      if (startedAt !== null && !over) this.saying -= 1;
      over = true;
    };
    utterance.onstart = () => {
      startedAt = performance.now();
      this.saying += 1;
    };
    const ended = new Promise((resolve) => {
      utterance.onend = () => resolve(finish());
      utterance.onerror = () => resolve(finish());
    });
    speechSynthesis.speak(utterance);
    return {
      ended,
      duration: text.length / 15, // speechSynthesis does not say; about 15 characters a second
      elapsed: () => (startedAt === null ? -1 : (performance.now() - startedAt) / 1000),
      stop: () => {
        finish();
        speechSynthesis.cancel();
      },
    };
  }

  close() {
    this.bus.disconnect();
  }
}
