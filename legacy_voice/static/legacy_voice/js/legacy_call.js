// A Legacy call: the browser listens (voice activity detection), the server transcribes,
// the reply streams in and is spoken sentence by sentence while the rest still streams.
// Talking over the reply (≥ 300 ms of sustained speech) stops it; what was heard is saved.
//
// The same surface as RealtimeCall: "change" events carry { status, items, notice, error };
// "failed" tells that the call ended on a problem.

import { api, apiFetch } from "../../js/api.js";
import { recordEnd, recordEndOnUnload, saveItems } from "../../js/call_record.js";
import { SaveQueue } from "../../js/save_queue.js";
import { incompleteReplyNotice } from "../../realtime/js/call_state.js";
import { micConstraints, microphoneProblem } from "../../realtime/js/realtime_call.js";
import { PlaybackQueue } from "./playback.js";
import { recognitionProblem } from "./recognition.js";
import { SentenceSplitter } from "./sentences.js";
import { VoiceActivity } from "./vad.js";

const FRAME_MS = 20;
const BARGE_IN_MS = 300; // "mm-hm" and echo are shorter than this
const MAX_LISTEN_MS = 30000; // a recording without speech this long is started afresh
const SPEECH_FORMAT = "pcm"; // raw 24 kHz PCM: no decoder, the lowest latency
const PCM_RATE = 24000;
const RETRYING = "The connection dropped: retrying…";
const CUT_SHORT = ["length", "content_filter"]; // Chat Completions' finish_reason for a cut reply

export function legacySupport() {
  if (!window.isSecureContext) return "The microphone needs a secure page (HTTPS or localhost).";
  if (!navigator.mediaDevices?.getUserMedia || !window.MediaRecorder || !window.AudioContext) {
    return "This browser cannot record audio for calls.";
  }
  return null;
}

export class LegacyCall extends EventTarget {
  constructor({ voice, conversationId, micDeviceId, stt = "server", tts = "server" }) {
    super();
    this.options = { voice, conversationId, micDeviceId, stt, tts };
    this.state = { status: "connecting", items: new Map(), notice: null, error: null };
    this.call = null;
    this.closed = false;
    this.vad = new VoiceActivity();
    this.reply = null; // { controller, queue, itemId, userItemId, done } while answering
    this.queue = new SaveQueue({ send: (items) => saveItems(this.call.id, items) });
    this.lastItemId = null;
  }

  get status() {
    return this.state.status;
  }

  // Resolves once connecting is over; quietly when the call was ended meanwhile.
  async start() {
    try {
      await this.#connect();
    } catch (error) {
      if (this.closed) return; // ended while connecting: whatever broke since is moot
      this.#close();
      const message = microphoneProblem(error) ?? error.message ?? "The call could not start.";
      this.#set({ status: "error", error: { code: error.code ?? error.name, message } });
      throw error;
    }
  }

  async #connect() {
    if (this.closed) return; // ended before it began (the previous call was still ending)
    this.localStream = await navigator.mediaDevices.getUserMedia(micConstraints(this.options.micDeviceId));
    if (this.closed) return this.#release(); // ended during the microphone prompt
    this.audio = new AudioContext();
    await this.audio.resume();
    if (this.closed) return this.#release();
    this.creating = api("/api/legacy/calls", {
      method: "POST",
      body: { conversation: this.options.conversationId || undefined },
    }).then((call) => (this.call = call));
    await this.creating;
    if (this.closed) return; // end() ends the call it created
    this.#listen();
    await api(`/api/calls/${this.call.id}/active`, { method: "POST" });
    if (!this.closed) this.#set({ status: "listening" });
  }

  setMuted(muted) {
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  // Switch microphones mid-call: a muted caller stays muted, and listening (and the page's
  // level meter, on the next change) moves to the new stream.
  async useMicrophone(deviceId) {
    this.options.micDeviceId = deviceId;
    if (!this.localStream || this.closed) return;
    const stream = await navigator.mediaDevices.getUserMedia(micConstraints(deviceId));
    if (this.closed) return stopTracks(stream);
    const enabled = this.localStream.getAudioTracks()[0]?.enabled ?? true;
    for (const track of stream.getAudioTracks()) track.enabled = enabled;
    stopTracks(this.localStream);
    this.localStream = stream;
    this.#stopListening();
    this.#listen();
    this.#set({});
  }

  async end(reason = "user") {
    if (this.closed) return;
    this.#interruptReply();
    this.#close();
    if (!["ended", "error"].includes(this.status)) this.#set({ status: "ended" });
    await this.creating?.catch(() => {}); // a call still being created is ended once it exists
    if (this.call) await recordEnd(this.call.id, this.queue, reason);
  }

  // The page is going away: the reply as heard goes out with the keepalive requests.
  endOnUnload() {
    if (this.closed || !this.call) return;
    this.#interruptReply();
    this.#close();
    recordEndOnUnload(this.call.id, this.queue);
  }

  // --- listening ---------------------------------------------------------------------------

  #listen() {
    const source = this.audio.createMediaStreamSource(this.localStream);
    this.analyser = this.audio.createAnalyser();
    this.analyser.fftSize = 1024;
    source.connect(this.analyser);
    this.source = source;
    this.samples = new Float32Array(this.analyser.fftSize);
    if (this.options.stt === "browser") this.#recognize();
    else this.#record();
    this.timer = setInterval(() => this.#frame(), FRAME_MS);
  }

  // The browser's own speech recognition, when the user picked it: it ends turns itself.
  #recognize() {
    const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
    const recognition = (this.recognition = new Recognition());
    recognition.continuous = true;
    recognition.interimResults = false;
    recognition.onresult = (event) => {
      const result = event.results[event.results.length - 1];
      if (result.isFinal) this.#takeTurn({ text: result[0].transcript });
    };
    recognition.onerror = (event) => {
      const problem = recognitionProblem(event.error);
      if (problem) this.#fail(`recognition_${event.error.replaceAll("-", "_")}`, problem);
    };
    recognition.onend = () => {
      if (!this.closed) recognition.start(); // browsers stop after a while: listen on
    };
    recognition.start();
  }

  #stopListening() {
    clearInterval(this.timer);
    this.source?.disconnect();
    if (this.recognition) {
      this.recognition.onend = null;
      this.recognition.abort();
    }
    if (this.recorder?.state === "recording") {
      this.recorder.onstop = null;
      this.recorder.stop();
    }
  }

  // One recording per turn: started while listening, so the first syllable is never lost.
  #record() {
    const chunks = [];
    const recorder = (this.recorder = new MediaRecorder(this.localStream));
    recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
    recorder.onstop = () => {
      if (this.closed) return;
      const spoke = recorder.heardSpeech;
      if (spoke) this.#takeTurn({ blob: new Blob(chunks, { type: recorder.mimeType || "audio/webm" }) });
      this.#record();
    };
    recorder.heardSpeech = false;
    recorder.startedAt = performance.now();
    recorder.start();
  }

  level() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    return Math.sqrt(sum / this.samples.length);
  }

  #frame() {
    if (this.closed) return;
    const event = this.vad.feed(this.level(), FRAME_MS);
    if (this.reply?.speaking && this.vad.aboveMs >= BARGE_IN_MS) this.#bargeIn();
    if (event === "speech_end" && this.status === "interrupted") this.#set({ status: "listening" });
    const recorder = this.recorder;
    if (!recorder) return; // the browser's recognition ends turns itself
    if (event === "speech_start") recorder.heardSpeech = true;
    if (event === "speech_end") {
      recorder.stop(); // onstop sends the turn and starts the next recording
    } else if (this.vad.state === "silence" && performance.now() - recorder.startedAt > MAX_LISTEN_MS) {
      recorder.stop(); // nothing said: a fresh recording keeps uploads small
    }
  }

  // --- a turn: words → reply → speech --------------------------------------------------------

  // A turn outlives a network error: it is retried with backoff until the server has it (a
  // save queue of one turn), and the retry is shown. What the server has done is not redone:
  // the words are transcribed once, and the reply request reuses the turn's item id.
  #takeTurn(turn) {
    const queue = new SaveQueue({
      send: ([pending]) => this.#take(pending),
      onRetry: () => this.#showRetrying(true),
    });
    queue.push({ item_id: `user_${crypto.randomUUID().replaceAll("-", "")}`, ...turn }).catch(() => {});
  }

  async #take(turn) {
    if (this.closed) return;
    try {
      turn.text ??= await this.#transcribe(turn.blob);
      this.#showRetrying(false);
      if (this.closed || !turn.text.trim()) return; // silence or noise: nothing is invented
      await this.#answer(turn);
      this.#showRetrying(false);
    } catch (error) {
      if (this.closed) return; // the call is over: nothing left to retry
      if (!error.permanent) throw error; // retried with backoff
      const step = turn.text === undefined ? "Your words could not be transcribed" : "The reply failed";
      this.#set({ notice: `${step}: ${error.message}` });
    }
  }

  async #transcribe(blob) {
    const form = new FormData();
    form.append("audio", blob, `speech.${blob.type.includes("ogg") ? "ogg" : "webm"}`);
    form.append("call", this.call.id);
    return (await api("/api/legacy/transcriptions", { method: "POST", form })).text;
  }

  #showRetrying(retrying) {
    if (retrying && !this.closed) this.#set({ notice: RETRYING });
    else if (!retrying && this.state.notice === RETRYING) this.#set({ notice: null });
  }

  // The caller's words appear once (cutting off a reply still playing), however often the
  // reply to them is asked for.
  #showWords(turn) {
    if (turn.shown) return;
    this.#interruptReply();
    const text = turn.text.trim();
    this.#item(turn.item_id, { role: "user", text, final: true, previous_item_id: this.lastItemId });
    this.lastItemId = turn.item_id;
    turn.shown = true;
  }

  // Throws, for the turn to be retried, only when no part of the reply has arrived.
  async #answer(turn) {
    this.#showWords(turn);
    const reply = (this.reply = {
      controller: new AbortController(),
      queue: this.#speaker(),
      splitter: new SentenceSplitter(),
      itemId: null,
      userItemId: turn.item_id,
      speaking: false,
      done: false,
    });
    try {
      const response = await apiFetch("/api/legacy/replies", {
        method: "POST",
        body: { call: this.call.id, text: turn.text.trim(), item_id: turn.item_id },
        signal: reply.controller.signal,
      });
      for await (const [name, data] of serverEvents(response.body)) this.#replyEvent(reply, name, data);
    } catch (error) {
      if (error.name === "AbortError") return; // talked over, or hung up
      if (!reply.itemId) throw error;
      this.#set({ notice: `The reply was cut off: ${error.message}` });
    } finally {
      reply.done = true;
      for (const sentence of reply.splitter.flush()) reply.queue.enqueue(sentence);
      if (reply.queue.idle) this.#replyFinished(reply);
    }
  }

  #replyEvent(reply, name, data) {
    if (name === "start") {
      if (this.state.notice) this.#set({ notice: null }); // a new reply: earlier news is old
      reply.itemId = data.item_id;
      this.#item(data.item_id, { role: "assistant", text: "", previous_item_id: reply.userItemId });
      this.lastItemId = data.item_id;
    } else if (name === "delta") {
      const item = this.state.items.get(reply.itemId);
      this.#item(reply.itemId, { text: item.text + data.text });
      for (const sentence of reply.splitter.push(data.text)) reply.queue.enqueue(sentence);
    } else if (name === "done") {
      this.#item(reply.itemId, { text: data.text, final: true });
      // Cut short by the model (too long, or its content filter): spoken as far as it goes.
      if (data.incomplete || CUT_SHORT.includes(data.finish_reason)) {
        this.#set({ notice: incompleteReplyNotice(data.finish_reason ?? data.reason) });
      }
    } else if (name === "error") {
      this.#set({ notice: data.message });
    }
  }

  #speaker() {
    const browser = this.options.tts === "browser";
    const queue = new PlaybackQueue({
      fetchAudio: browser ? async (text) => text : (text, signal) => this.#speech(text, signal),
      play: browser ? (text) => this.#say(text) : (audio) => this.#play(audio),
    });
    queue.addEventListener("playing", () => {
      if (this.reply) this.reply.speaking = true;
      if (this.status !== "speaking") this.#set({ status: "speaking" });
    });
    queue.addEventListener("idle", () => {
      if (this.reply?.queue === queue && this.reply.done) this.#replyFinished(this.reply);
    });
    queue.addEventListener("error", () => this.#set({ notice: "Part of the reply could not be spoken." }));
    return queue;
  }

  #replyFinished(reply) {
    if (this.reply !== reply) return;
    this.reply = null;
    if (this.status === "speaking") this.#set({ status: "listening" }); // the mic is live again
  }

  async #speech(text, signal) {
    const response = await apiFetch("/api/legacy/speech", {
      method: "POST",
      body: { call: this.call.id, text, voice: this.options.voice || undefined, format: SPEECH_FORMAT },
      signal,
    });
    const bytes = new Int16Array(await response.arrayBuffer());
    const buffer = this.audio.createBuffer(1, Math.max(1, bytes.length), PCM_RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < bytes.length; i += 1) channel[i] = bytes[i] / 32768;
    return buffer;
  }

  // Scheduled on the audio clock right after the previous sentence: no gap between them.
  #play(buffer) {
    const node = this.audio.createBufferSource();
    node.buffer = buffer;
    node.connect(this.audio.destination);
    const startAt = Math.max(this.audio.currentTime, this.playhead ?? 0);
    this.playhead = startAt + buffer.duration;
    const ended = new Promise((resolve) => { node.onended = resolve; });
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
  #say(text) {
    const utterance = new SpeechSynthesisUtterance(text);
    let startedAt = null; // speechSynthesis queues utterances: this one may not have begun
    utterance.onstart = () => { startedAt = performance.now(); };
    const ended = new Promise((resolve) => {
      utterance.onend = resolve;
      utterance.onerror = resolve;
    });
    speechSynthesis.speak(utterance);
    return {
      ended,
      duration: text.length / 15, // speechSynthesis does not say; about 15 characters a second
      elapsed: () => (startedAt === null ? -1 : (performance.now() - startedAt) / 1000),
      stop: () => speechSynthesis.cancel(),
    };
  }

  // --- barge-in ---------------------------------------------------------------------------------

  #bargeIn() {
    this.#interruptReply();
    this.#set({ status: "interrupted" });
  }

  // Stop the reply and its speech; save the assistant's words as far as they were heard (none,
  // when nothing was spoken yet). The server may have saved the whole reply already: this save
  // replaces it, and the server never overwrites it.
  #interruptReply() {
    const reply = this.reply;
    if (!reply) return;
    this.reply = null;
    reply.controller.abort();
    const { heard, cut } = reply.queue.stop();
    if (!reply.itemId) return; // nothing of it arrived
    const item = this.state.items.get(reply.itemId);
    const spoken = [...heard, cut].filter(Boolean).join(" ");
    const heardChars = Math.min(item.text.length, locate(item.text, spoken));
    if (reply.done && heardChars === item.text.length) return; // heard to the end: saved as is
    this.#item(reply.itemId, { interrupted: true, heardChars, final: true });
    this.queue.push({
      item_id: reply.itemId,
      role: "assistant",
      text: item.text.slice(0, heardChars).trimEnd(),
      interrupted: true,
      previous_item_id: reply.userItemId,
    }).catch(() => {});
  }

  // The call cannot go on (nothing can hear the caller): it ends, and the page says why.
  #fail(code, message) {
    if (this.closed) return;
    this.#interruptReply();
    this.#close();
    this.#set({ status: "error", error: { code, message } });
    this.dispatchEvent(new CustomEvent("failed", { detail: this.state.error }));
    if (this.call) recordEnd(this.call.id, this.queue, code).catch(() => {});
  }

  // --- state --------------------------------------------------------------------------------

  #item(itemId, fields) {
    const items = new Map(this.state.items);
    const current = items.get(itemId) ?? { item_id: itemId, role: "assistant", text: "", interrupted: false, previous_item_id: null };
    items.set(itemId, { ...current, ...fields, item_id: itemId });
    this.#set({ items });
  }

  #set(fields) {
    this.state = { ...this.state, ...fields };
    this.dispatchEvent(new CustomEvent("change", { detail: this.state }));
  }

  #close() {
    this.closed = true;
    this.#stopListening();
    this.#release();
  }

  #release() {
    if (this.localStream) stopTracks(this.localStream);
    if (this.audio?.state !== "closed") this.audio?.close().catch(() => {});
  }
}

function stopTracks(stream) {
  for (const track of stream.getTracks()) track.stop();
}

// Where the spoken words end in the written reply (markdown is not spoken, so count words).
function locate(text, spoken) {
  const words = spoken.split(/\s+/).filter(Boolean).length;
  const matches = [...text.matchAll(/\S+/g)];
  if (!words) return 0;
  if (words >= matches.length) return text.length;
  const last = matches[words - 1];
  return last.index + last[0].length;
}

// Server-sent events from a fetch body: [event name, parsed data] pairs.
async function* serverEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let split;
    while ((split = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]));
      if (fields.event && fields.data) yield [fields.event, JSON.parse(fields.data)];
    }
  }
}
