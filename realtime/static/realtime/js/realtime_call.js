// A Realtime call in the browser: the mic and an "oai-events" data channel over WebRTC,
// straight to OpenAI. Our server only proxies the SDP offer (the key never reaches the page)
// and keeps the call's record and transcript.
//
// Emits "change" events (detail: the call state of call_state.js), "failed", and "tool" (detail:
// a tool call's transcript item, as the server saved it).

import { api } from "../../js/api.js";
import { callerTimeZone, recordEnd, recordEndOnUnload, saveItems } from "../../js/call_record.js";
import { SaveQueue } from "../../js/save_queue.js";
import { urlFor } from "../../js/urls.js";
import { activeResponse, pressEvents, RELEASE_TAIL_MS, releaseEvents } from "../../voice/js/push_to_talk.js";
import { realtimeTextEvents, typedItemId } from "../../voice/js/typed_turns.js";
import { hangUp, initialState, reduce } from "./call_state.js";

const CONNECT_TIMEOUT_MS = 20000;
const DISCONNECT_GRACE_MS = 5000; // a brief network drop often recovers on its own
const TOOL_LINES_READ = 20; // the latest items hold the tool call just answered

export function realtimeSupport() {
  if (!window.isSecureContext) {
    return "Realtime calls need a secure page (HTTPS or localhost) to use the microphone.";
  }
  if (!window.RTCPeerConnection || !navigator.mediaDevices?.getUserMedia) {
    return "This browser cannot place Realtime (WebRTC) calls.";
  }
  return null;
}

export function micConstraints(deviceId) {
  return {
    audio: {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      echoCancellation: true, // the assistant must not hear itself through the speakers
      noiseSuppression: true,
      autoGainControl: true,
    },
  };
}

// getUserMedia's errors, in words a user can act on.
export function microphoneProblem(error) {
  if (error?.name === "NotAllowedError") {
    return "Microphone access is blocked. Allow it for this site in the browser's settings, then try again.";
  }
  if (error?.name === "NotFoundError" || error?.name === "OverconstrainedError") {
    return "No microphone was found. Connect one, or pick another in the microphone list.";
  }
  if (error?.name === "NotReadableError") {
    return "The microphone is busy in another app. Close it there and try again.";
  }
  return null;
}

function isToolOutput(event) {
  const added = event?.type === "conversation.item.added" || event?.type === "conversation.item.created";
  return added && event.item?.type === "function_call_output";
}

export class RealtimeCall extends EventTarget {
  constructor({ voice, conversationId, micDeviceId, audioElement }) {
    super();
    this.options = { voice, conversationId, micDeviceId };
    this.audioElement = audioElement;
    this.state = { ...initialState(), status: "connecting" };
    this.call = null;
    this.queue = new SaveQueue({ send: (items) => saveItems(this.call.id, items) });
    this.timers = new Set();
    this.closed = false;
    // Push-to-talk: the session has no turn detection; the caller's holds are the turns.
    this.pushToTalk = false;
    this.held = false;
    this.muted = false;
    this.response = null; // the response OpenAI is generating (or was just asked for), if any
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
      this.state = { ...this.state, status: "error", error: { code: error.code ?? error.name, message } };
      this.#emit();
      throw error;
    }
  }

  async #connect() {
    if (this.closed) return; // ended before it began (the previous call was still ending)
    const stream = await navigator.mediaDevices.getUserMedia(micConstraints(this.options.micDeviceId));
    this.localStream = stream;
    if (this.closed) return this.#releaseMicrophone(); // ended during the microphone prompt
    this.#applyMicrophone(); // under push-to-talk, off from the start
    const pc = this.#openPeerConnection(stream);
    await pc.setLocalDescription(await pc.createOffer());
    if (this.closed) return;
    const { sdp } = await this.#requestSession(pc.localDescription.sdp);
    this.#emit();
    if (this.closed) return;
    await pc.setRemoteDescription({ type: "answer", sdp });
    this.#later(CONNECT_TIMEOUT_MS, () => {
      if (this.status === "connecting") this.#fail("connect_timeout", "The call could not connect. Try again.");
    });
  }

  #openPeerConnection(stream) {
    const pc = (this.pc = new RTCPeerConnection());
    this.sender = pc.addTrack(stream.getAudioTracks()[0], stream);
    pc.ontrack = (event) => {
      this.remoteStream = event.streams[0];
      this.audioElement.srcObject = this.remoteStream;
      this.audioElement.play().catch(() => {}); // unlocked by the start tap
      this.#emit();
    };
    pc.onconnectionstatechange = () => this.#watchConnection();
    const channel = (this.channel = pc.createDataChannel("oai-events"));
    channel.onmessage = (message) => this.#onEvent(message.data);
    channel.onopen = () => this.#onOpen();
    channel.onclose = () => this.#lost("channel_closed", "The call was disconnected.");
    return pc;
  }

  // Not aborted when the call is ended meanwhile: OpenAI may already hold the call, and only
  // its id lets the server hang it up (end() waits for this request).
  #requestSession(offerSdp) {
    this.sessionRequest = api(urlFor("realtime-session"), {
      method: "POST",
      body: {
        sdp: offerSdp,
        voice: this.options.voice || undefined,
        conversation: this.options.conversationId || undefined,
        timezone: callerTimeZone(),
        push_to_talk: this.pushToTalk,
      },
    }).then((answer) => {
      this.call = answer.call;
      this.pushToTalk = Boolean(answer.push_to_talk); // the admin's manual turns make it so
      this.#applyMicrophone();
      return answer;
    });
    return this.sessionRequest;
  }

  setMuted(muted) {
    this.muted = muted;
    this.#applyMicrophone();
  }

  // Before start(): whether to ask for a push-to-talk session.
  setPushToTalk(on) {
    if (!this.call && !this.closed) this.pushToTalk = Boolean(on);
  }

  // The caller holds the button: drop what the buffer heard before, stop the assistant if it
  // is talking, open the microphone. A press right after a release continues that turn.
  pttPress() {
    if (!this.pushToTalk || this.held || this.closed || this.channel?.readyState !== "open") return;
    this.held = true;
    if (this.releasing) {
      this.#cancelTimer(this.releasing);
      this.releasing = null;
    } else {
      this.heldSince = performance.now();
      const speaking = this.status === "speaking";
      this.#send(pressEvents({ responseActive: Boolean(this.response), speaking }));
    }
    this.#applyMicrophone();
    this.#emit();
  }

  // Let go: what was said becomes the turn and is answered, once its last syllable is in.
  pttRelease() {
    if (!this.held) return;
    this.held = false;
    this.#emit();
    const heldMs = performance.now() - this.heldSince;
    this.releasing = this.#later(RELEASE_TAIL_MS, () => {
      this.releasing = null;
      this.#applyMicrophone();
      const events = releaseEvents({ heldMs });
      this.#send(events);
      // Until response.created names it: a press meanwhile must still cancel this reply.
      if (events.some((event) => event.type === "response.create")) this.response ??= "requested";
    });
  }

  // The microphone is on unless muted, and under push-to-talk only while held (or in the tail).
  #applyMicrophone() {
    const open = !this.muted && (!this.pushToTalk || this.held || Boolean(this.releasing));
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = open;
  }

  #send(events) {
    if (this.channel?.readyState !== "open") return;
    for (const event of events) this.channel.send(JSON.stringify(event));
  }

  // A typed turn: a user input_text item over the data channel, then a reply, spoken. The item
  // is shown and saved (as typed) once OpenAI confirms it with conversation.item.added.
  sendText(text) {
    if (this.closed || this.channel?.readyState !== "open") throw new Error("The call is not connected yet.");
    const events = realtimeTextEvents({ text, itemId: typedItemId(), replying: Boolean(this.state.replying) });
    for (const event of events) this.channel.send(JSON.stringify(event));
  }

  // Switch microphones mid-call without renegotiating.
  async useMicrophone(deviceId) {
    this.options.micDeviceId = deviceId;
    if (!this.sender || this.closed) return;
    const stream = await navigator.mediaDevices.getUserMedia(micConstraints(deviceId));
    const [track] = stream.getAudioTracks();
    track.enabled = this.localStream.getAudioTracks()[0]?.enabled ?? true; // muted, or not held
    if (!this.closed) await this.sender.replaceTrack(track);
    this.#releaseMicrophone();
    this.localStream = stream;
    this.#applyMicrophone(); // a hold may have begun or ended while it was asked for
    if (this.closed) this.#releaseMicrophone(); // ended while the new microphone was asked for
    this.#emit();
  }

  // Also while connecting: a session request still out is awaited, so the call it creates is
  // ended on the server and at OpenAI rather than left running.
  async end(reason = "user") {
    if (this.closed) return;
    this.#close();
    if (!["ended", "error"].includes(this.status)) this.#setStatus("ended");
    await this.sessionRequest?.catch(() => {});
    await this.#finish(reason);
  }

  // Page is going away: best effort with keepalive requests (the reply as heard among them),
  // no waiting.
  endOnUnload() {
    if (this.closed || !this.call) return;
    this.#close();
    recordEndOnUnload(this.call.id, this.queue);
  }

  async #finish(reason) {
    if (this.call) await recordEnd(this.call.id, this.queue, reason);
  }

  #onOpen() {
    if (!this.call) return;
    api(urlFor("call-active", this.call.id), { method: "POST" }).catch((error) => {
      if (error.code === "call_ended") this.#fail("call_ended", "This call was ended elsewhere.");
    });
  }

  #onEvent(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return; // not ours to interpret
    }
    if (isToolOutput(event)) this.#showToolLines();
    this.response = activeResponse(this.response, event);
    const { state, saves } = reduce(this.state, event, performance.now());
    const ended = state.status === "ended" && this.state.status !== "ended";
    this.state = state;
    for (const item of saves) this.queue.push(item).catch(() => {});
    if (ended) this.#close(); // first: it cuts a reply still being spoken
    this.#emit();
    if (ended) this.#finish(state.error?.code ?? "ended").catch(() => {});
  }

  // The call monitor answered a function call on the sideband: its line ("Searched your
  // conversations for 'lease'") is the server's, saved before the answer went out. It is read
  // here, since a push from the monitor's process reaches this page only through a shared
  // channel layer (Redis); with one, the push and this read show the same item once.
  async #showToolLines() {
    if (!this.call) return;
    const record = await api(`${urlFor("call-detail", this.call.id)}?limit=${TOOL_LINES_READ}`).catch(() => null);
    for (const item of record?.transcript ?? []) {
      if (item.role === "tool") this.dispatchEvent(new CustomEvent("tool", { detail: item }));
    }
  }

  #watchConnection() {
    const state = this.pc?.connectionState;
    if (state === "failed") this.#lost("ice_failed", "The call's connection failed. Check your network and try again.");
    if (state === "connected") this.disconnectedAt = null;
    if (state === "disconnected") {
      this.disconnectedAt ??= performance.now(); // the caller heard nothing more from here
      this.#later(DISCONNECT_GRACE_MS, () => {
        if (this.pc?.connectionState === "disconnected") this.#lost("disconnected", "The call lost its connection.");
      });
    }
  }

  // The connection went away. If the server ended the call (another tab, the longest-call
  // rule), OpenAI hung up on us: that is an ending, not an error.
  async #lost(code, message) {
    if (this.closed) return;
    const record = this.call && (await api(urlFor("call-detail", this.call.id)).catch(() => null));
    if (record && !["connecting", "active"].includes(record.status)) {
      this.#close();
      this.state = { ...this.state, status: "ended", endedBy: record.ended_reason };
      this.#emit();
      await this.queue.flush();
      return;
    }
    this.#fail(code, message);
  }

  #fail(code, message) {
    if (this.closed) return;
    this.#close();
    this.state = { ...this.state, status: "error", error: { code, message } };
    this.#emit();
    this.dispatchEvent(new CustomEvent("failed", { detail: this.state.error }));
    this.#finish(code).catch(() => {});
  }

  #close() {
    this.closed = true;
    this.#keepWhatWasHeard();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.channel) this.channel.onclose = null;
    this.channel?.close();
    this.pc?.close();
    this.#releaseMicrophone();
  }

  // Every way a call ends comes here: a reply the assistant was still giving is saved as far
  // as the caller heard it (marked interrupted), queued before the call's record is closed.
  #keepWhatWasHeard() {
    const { state, saves } = hangUp(this.state, this.disconnectedAt ?? performance.now());
    this.state = state;
    if (this.call) for (const item of saves) this.queue.push(item).catch(() => {});
  }

  #releaseMicrophone() {
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
  }

  #later(ms, callback) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  #cancelTimer(timer) {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  #setStatus(status) {
    this.state = { ...this.state, status };
    this.#emit();
  }

  #emit() {
    this.dispatchEvent(new CustomEvent("change", { detail: this.state }));
  }
}
