// What hears the caller's turn: a recording for the server's speech-to-text (one
// MediaRecorder per turn, started while listening so the first syllable is never lost), or the
// browser's own speech recognition. The turn-taking decides when each starts, ends or is
// dropped; both hand a finished turn to `onTurn`.

import { recognitionProblem } from "./recognition.js";

export class TurnRecorder {
  constructor(stream, { onTurn }) {
    this.stream = stream;
    this.onTurn = onTurn;
    this.recorder = null;
  }

  start() {
    this.discard();
    const chunks = [];
    const recorder = (this.recorder = new MediaRecorder(this.stream));
    recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
    recorder.onstop = () => {
      const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      this.onTurn({ blob, speech: recorder.speech });
    };
    recorder.start();
  }

  // The turn is over: `speech` (the turn-taking's measure of it) goes with the recording.
  stop(speech) {
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder?.state !== "recording") return;
    recorder.speech = speech;
    recorder.stop();
  }

  discard() {
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder?.state !== "recording") return;
    recorder.onstop = null;
    recorder.stop();
  }

  close() {
    this.discard();
  }
}

// The browser's recognition ends turns itself. Hands-free it listens on and on (browsers stop
// it now and then: it is started again); with push-to-talk it runs only while the button is
// held, and the results that follow a release still count.
export class TurnRecognizer {
  constructor({ onText, onProblem, measure }) {
    this.onText = onText;
    this.onProblem = onProblem;
    this.measure = measure; // () => the turn-taking's measure of the speech heard lately
    this.handsFree = true;
    this.wanted = false;
    this.recognition = null;
  }

  start() {
    this.wanted = true;
    if (!this.recognition) this.#open();
  }

  // Push-to-talk released: the final results are still on their way.
  stop() {
    if (this.handsFree) return;
    this.wanted = false;
    this.recognition?.stop?.();
  }

  discard() {
    if (this.handsFree) return; // hands-free turns are the recognition's own to end
    this.close();
  }

  setHandsFree(on) {
    if (on === this.handsFree) return;
    this.close();
    this.handsFree = on;
  }

  close() {
    this.wanted = false;
    const recognition = this.recognition;
    this.recognition = null;
    if (!recognition) return;
    recognition.onend = null;
    recognition.onresult = null;
    recognition.abort();
  }

  #open() {
    const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
    const recognition = (this.recognition = new Recognition());
    recognition.continuous = true;
    recognition.interimResults = false;
    recognition.onresult = (event) => {
      const result = event.results[event.results.length - 1];
      if (result.isFinal) this.onText({ text: result[0].transcript, speech: this.measure() });
    };
    recognition.onerror = (event) => {
      const problem = recognitionProblem(event.error);
      if (problem) this.onProblem(`recognition_${event.error.replaceAll("-", "_")}`, problem);
    };
    recognition.onend = () => {
      this.recognition = null;
      if (this.wanted) this.#open();
    };
    recognition.start();
  }
}
