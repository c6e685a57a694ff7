// A Legacy call: the browser listens, the server transcribes, the reply streams in and is
// spoken sentence by sentence while the rest still streams. When a turn starts and ends, and
// whether talking over the reply cuts it, is decided by the pure turn-taking module
// (turn_taking.js); this class carries its decisions out: recording (capture.js), the reply
// stream (static/js/server_events.js), playback (speaker.js, playback.js). What was heard of a cut reply
// is saved.
//
// The same surface as RealtimeCall: "change" events carry { status, items, notice, error };
// "failed" tells that the call ended on a problem.

import { api, apiFetch } from "../../js/api.js";
import { callerTimeZone, recordEnd, recordEndOnUnload, saveItems } from "../../js/call_record.js";
import { SaveQueue } from "../../js/save_queue.js";
import { serverEvents } from "../../js/server_events.js";
import { urlFor } from "../../js/urls.js";
import { incompleteReplyNotice } from "../../realtime/js/call_state.js";
import { micConstraints, microphoneProblem } from "../../realtime/js/realtime_call.js";
import { TurnRecognizer, TurnRecorder } from "./capture.js";
import { PlaybackQueue } from "./playback.js";
import { SentenceSplitter } from "./sentences.js";
import { Speaker } from "./speaker.js";
import { TurnTaking } from "./turn_taking.js";

const FRAME_MS = 20;
const MAX_FRAME_MS = 100; // a frame after a stall (a background tab) counts as this long at most
const SPEECH_FORMAT = "pcm"; // raw 24 kHz PCM: no decoder, the lowest latency
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
  constructor({ voice, conversationId, micDeviceId, stt = "server", tts = "server", pushToTalk = false }) {
    super();
    this.options = { voice, conversationId, micDeviceId, stt, tts, pushToTalk };
    this.state = { status: "connecting", items: new Map(), notice: null, error: null, listening: false };
    this.call = null;
    this.closed = false;
    this.turns = null; // the turn-taking, once listening
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
    this.creating = api(urlFor("legacy-call-create"), {
      method: "POST",
      body: { conversation: this.options.conversationId || undefined, timezone: callerTimeZone() },
    }).then((call) => (this.call = call));
    await this.creating;
    if (this.closed) return; // end() ends the call it created
    this.#listen();
    await api(urlFor("call-active", this.call.id), { method: "POST" });
    if (!this.closed) this.#set({ status: "listening" });
  }

  setMuted(muted) {
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  // A typed turn: the text takes the place of a spoken one (nothing to transcribe), saved with
  // source "text"; the reply is spoken as usual.
  sendText(text) {
    if (this.closed || !this.call) throw new Error("The call is not connected yet.");
    this.#takeTurn({ text, source: "text" });
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

  // Push-to-talk: the caller talks only while holding the button (or the space bar).
  pttPress() {
    if (this.turns && !this.closed) this.#decide(this.turns.pttPress(performance.now()));
  }

  pttRelease() {
    if (this.turns && !this.closed) this.#decide(this.turns.pttRelease(performance.now()));
  }

  setPushToTalk(on) {
    this.options.pushToTalk = Boolean(on);
    if (!this.turns || this.closed) return; // applied when listening begins
    this.capture.setHandsFree?.(!on);
    this.#decide(this.turns.setPushToTalk(Boolean(on), performance.now()));
  }

  // The caller can be heard now (always hands-free; while holding, with push-to-talk).
  get listening() {
    return Boolean(this.turns?.listening) && !this.closed;
  }

  #listen() {
    const source = this.audio.createMediaStreamSource(this.localStream);
    this.analyser = this.audio.createAnalyser();
    this.analyser.fftSize = 1024;
    source.connect(this.analyser);
    this.source = source;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.speaker ??= new Speaker(this.audio);
    this.capture = this.options.stt === "browser" ? this.#recognizer() : this.#recorder();
    this.capture.setHandsFree?.(!this.options.pushToTalk);
    this.lastFrameAt = performance.now();
    if (this.turns) {
      // Another microphone mid-call: the turn-taking goes on; the recording moves over.
      if (this.turns.recording) this.capture.start();
    } else {
      this.turns = new TurnTaking({ pushToTalk: this.options.pushToTalk });
      this.#decide(this.turns.start(this.lastFrameAt));
    }
    this.timer = setInterval(() => this.#frame(), FRAME_MS);
  }

  #recorder() {
    return new TurnRecorder(this.localStream, { onTurn: (turn) => !this.closed && this.#takeTurn(turn) });
  }

  // The browser's own speech recognition, when the user picked it: it ends turns itself.
  #recognizer() {
    return new TurnRecognizer({
      onText: (turn) => !this.closed && this.#takeTurn(turn),
      onProblem: (code, message) => this.#fail(code, message),
      measure: () => this.turns.recognitionTurn(performance.now()),
    });
  }

  #stopListening() {
    clearInterval(this.timer);
    this.source?.disconnect();
    this.capture?.close();
  }

  level() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    return Math.sqrt(sum / this.samples.length);
  }

  // Timers drift on a busy machine: each frame counts the time that really passed.
  #frame() {
    if (this.closed) return;
    const at = performance.now();
    const dtMs = Math.min(MAX_FRAME_MS, at - this.lastFrameAt);
    this.lastFrameAt = at;
    const muted = this.localStream.getAudioTracks().every((track) => !track.enabled);
    const level = muted ? 0 : this.level();
    this.#decide(this.turns.frame({ level, playbackLevel: this.speaker.level(), at, dtMs }));
  }

  // Carry out the turn-taking's decisions. Each is also a performance mark ("turn:<type>"),
  // so the browser's performance panel, and the browser tests, can see when and why.
  #decide(decisions) {
    for (const decision of decisions) {
      if (this.closed) return;
      performance.mark(`turn:${decision.type}`, { detail: decision });
      if (decision.type === "start_recording") this.capture.start();
      else if (decision.type === "discard_turn") this.capture.discard();
      else if (decision.type === "interrupt_reply") this.#bargeIn();
      else if (decision.type === "end_turn") this.capture.stop(decision.turn);
      // The turn that cut the reply is over (taken, or a push-to-talk hold with nothing said).
      const turnOver = decision.type === "end_turn" || decision.type === "discard_turn";
      if (turnOver && this.status === "interrupted") this.#set({ status: "listening" });
    }
    if (this.state.listening !== this.listening) this.#set({ listening: this.listening });
  }

  // --- a turn: words → reply → speech --------------------------------------------------------

  // A turn outlives a network error: it is retried with backoff until the server has it (a
  // save queue of one turn), and the retry is shown. What the server has done is not redone:
  // the words are transcribed once, and the reply request reuses the turn's item id.
  #takeTurn(turn) {
    const itemId = `user_${crypto.randomUUID().replaceAll("-", "")}`;
    // The turn's latency marks ("voice:<stage>", detail.turn: its item id) are what
    // bench/voice_to_voice.py reads; speechStartedAt ties this one to the turn-taking's
    // "turn:end_turn" (its turn.startedAt).
    latencyMark("turn-sent", itemId, { speechStartedAt: turn.speech?.startedAt ?? null });
    const queue = new SaveQueue({
      send: ([pending]) => this.#take(pending),
      onRetry: () => this.#showRetrying(true),
    });
    queue.push({ item_id: itemId, ...turn }).catch(() => {});
  }

  async #take(turn) {
    if (this.closed) return;
    try {
      if (turn.text === undefined) {
        turn.text = await this.#transcribe(turn.blob);
        latencyMark("transcribed", turn.item_id);
      }
      this.#showRetrying(false);
      if (this.closed || !this.#worthAnswering(turn)) return;
      await this.#answer(turn);
      this.#showRetrying(false);
    } catch (error) {
      if (this.closed) return; // the call is over: nothing left to retry
      if (!error.permanent) throw error; // retried with backoff
      const step = turn.text === undefined ? "Your words could not be transcribed" : "The reply failed";
      this.#set({ notice: `${step}: ${error.message}` });
    }
  }

  // A spoken turn's words are judged with how it was said (a backchannel over the reply, an
  // artefact of silence); typed words are always answered. Judged once, on the first try.
  #worthAnswering(turn) {
    if (turn.speech === undefined || turn.judged) return Boolean(turn.text.trim());
    const verdict = this.turns.transcript({ text: turn.text, turn: turn.speech });
    performance.mark(`turn:transcript_${verdict.type}`, { detail: { reason: verdict.reason } });
    turn.judged = verdict.type === "send";
    return turn.judged;
  }

  async #transcribe(blob) {
    const form = new FormData();
    form.append("audio", blob, `speech.${blob.type.includes("ogg") ? "ogg" : "webm"}`);
    form.append("call", this.call.id);
    return (await api(urlFor("legacy-transcribe"), { method: "POST", form })).text;
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
    this.#item(turn.item_id, {
      role: "user",
      text,
      final: true,
      previous_item_id: this.lastItemId,
      source: turn.source,
    });
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
      streaming: false, // its words have begun to arrive
      sentences: 0, // handed to the speaker so far
      done: false,
    });
    try {
      const response = await apiFetch(urlFor("legacy-reply"), {
        method: "POST",
        body: { call: this.call.id, text: turn.text.trim(), item_id: turn.item_id, source: turn.source },
        signal: reply.controller.signal,
      });
      for await (const [name, data] of serverEvents(response.body)) this.#replyEvent(reply, name, data);
    } catch (error) {
      if (error.name === "AbortError") return; // talked over, or hung up
      if (!reply.itemId) throw error;
      this.#set({ notice: `The reply was cut off: ${error.message}` });
    } finally {
      reply.done = true;
      for (const sentence of reply.splitter.flush()) this.#say(reply, sentence);
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
      if (!reply.streaming) latencyMark("first-token", reply.userItemId);
      reply.streaming = true;
      this.#item(reply.itemId, { text: item.text + data.text });
      for (const sentence of reply.splitter.push(data.text)) this.#say(reply, sentence);
    } else if (name === "tool") {
      this.#toolLine(reply, data);
    } else if (name === "done") {
      this.#item(reply.itemId, { text: data.text, final: true });
      reply.endCall = data.end_call === true;
      // Cut short by the model (too long, or its content filter): spoken as far as it goes.
      if (data.incomplete || CUT_SHORT.includes(data.finish_reason)) {
        this.#set({ notice: incompleteReplyNotice(data.finish_reason ?? data.reason) });
      }
    } else if (name === "error") {
      this.#set({ notice: data.message });
    }
  }

  #say(reply, sentence) {
    if (reply.sentences === 0) latencyMark("first-sentence", reply.userItemId);
    reply.sentences += 1;
    reply.queue.enqueue(sentence);
  }

  #speaker() {
    const browser = this.options.tts === "browser";
    const queue = new PlaybackQueue({
      fetchAudio: browser ? async (text) => text : (text, signal) => this.#speech(text, signal),
      play: browser ? (text) => this.speaker.say(text) : (audio) => this.speaker.play(audio),
    });
    queue.addEventListener("playing", () => {
      if (this.reply?.queue !== queue) return;
      // The reply's first audio is scheduled now, to start at once (PlaybackQueue's "playing").
      if (!this.reply.speaking) latencyMark("first-audio", this.reply.userItemId);
      this.reply.speaking = true;
      if (this.status !== "speaking") this.#set({ status: "speaking" });
      this.#decide(this.turns.playbackStarted(performance.now()));
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
    this.#playbackOver(reply);
    if (reply.endCall) return this.#endAfterGoodbye();
    if (this.status === "speaking") this.#set({ status: "listening" }); // the mic is live again
  }

  // Played out or cut: the turn-taking listens again at once.
  #playbackOver(reply) {
    if (reply.speaking && !this.closed) this.#decide(this.turns.playbackEnded(performance.now()));
  }

  async #speech(text, signal) {
    const response = await apiFetch(urlFor("legacy-speech"), {
      method: "POST",
      body: { call: this.call.id, text, voice: this.options.voice || undefined, format: SPEECH_FORMAT },
      signal,
    });
    return this.speaker.pcmBuffer(await response.arrayBuffer());
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
    this.#playbackOver(reply);
    if (!reply.itemId) return; // nothing of it arrived
    const item = this.state.items.get(reply.itemId);
    const spoken = [...heard, cut].filter(Boolean).join(" ");
    const heardChars = Math.min(item.text.length, locate(item.text, spoken));
    if (reply.done && heardChars === item.text.length) return; // heard to the end: saved as is
    this.#item(reply.itemId, { interrupted: true, heardChars, final: true });
    this.queue
      .push({
        item_id: reply.itemId,
        role: "assistant",
        text: item.text.slice(0, heardChars).trimEnd(),
        interrupted: true,
        previous_item_id: reply.previousItemId ?? reply.userItemId,
      })
      .catch(() => {});
  }

  // --- tools: what the assistant did, and the call it ends ------------------------------------

  // A tool the model ran, as its small line, between the caller's words and the reply (where
  // the server saved it). A call refused before it was recorded has no item: nothing to show.
  #toolLine(reply, { item_id: itemId, line, name, ok }) {
    if (!itemId) return;
    const previous = reply.previousItemId ?? reply.userItemId;
    this.#item(itemId, { role: "tool", text: line, tool: { name, ok }, final: true, previous_item_id: previous });
    reply.previousItemId = itemId;
    if (reply.itemId) this.#item(reply.itemId, { previous_item_id: itemId });
  }

  // The assistant ended the call (end_call) and its goodbye has been spoken to the end. A
  // caller who talks over the goodbye is not hung up on: that reply is interrupted instead.
  #endAfterGoodbye() {
    this.#set({ endedBy: "assistant" });
    this.end("assistant").catch(() => {});
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
    const current = items.get(itemId) ?? {
      item_id: itemId,
      role: "assistant",
      text: "",
      interrupted: false,
      previous_item_id: null,
    };
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

// A stage of a turn's way from the caller's last word to the reply's first sound, for the
// browser's performance panel and bench/voice_to_voice.py. Marks only: nothing reads them.
function latencyMark(stage, turnId, detail = {}) {
  performance.mark(`voice:${stage}`, { detail: { turn: turnId, ...detail } });
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
