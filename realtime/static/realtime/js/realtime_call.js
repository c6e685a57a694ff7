// A Realtime call in the browser: the mic and an "oai-events" data channel over WebRTC,
// straight to OpenAI. Our server only proxies the SDP offer (the key never reaches the page)
// and keeps the call's record and transcript.
//
// Emits "change" events (detail: the call state of call_state.js) and "failed".

import { api } from "../../js/api.js";
import { recordEnd, recordEndOnUnload, saveItems } from "../../js/call_record.js";
import { SaveQueue } from "../../js/save_queue.js";
import { hangUp, initialState, reduce } from "./call_state.js";

const CONNECT_TIMEOUT_MS = 20000;
const DISCONNECT_GRACE_MS = 5000; // a brief network drop often recovers on its own

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
    this.sessionRequest = api("/api/realtime/session", {
      method: "POST",
      body: {
        sdp: offerSdp,
        voice: this.options.voice || undefined,
        conversation: this.options.conversationId || undefined,
      },
    }).then((answer) => {
      this.call = answer.call;
      return answer;
    });
    return this.sessionRequest;
  }

  setMuted(muted) {
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  // Switch microphones mid-call without renegotiating.
  async useMicrophone(deviceId) {
    this.options.micDeviceId = deviceId;
    if (!this.sender || this.closed) return;
    const stream = await navigator.mediaDevices.getUserMedia(micConstraints(deviceId));
    const [track] = stream.getAudioTracks();
    track.enabled = this.localStream.getAudioTracks()[0]?.enabled ?? true;
    if (!this.closed) await this.sender.replaceTrack(track);
    this.#releaseMicrophone();
    this.localStream = stream;
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
    api(`/api/calls/${this.call.id}/active`, { method: "POST" }).catch((error) => {
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
    const { state, saves } = reduce(this.state, event, performance.now());
    const ended = state.status === "ended" && this.state.status !== "ended";
    this.state = state;
    for (const item of saves) this.queue.push(item).catch(() => {});
    if (ended) this.#close(); // first: it cuts a reply still being spoken
    this.#emit();
    if (ended) this.#finish(state.error?.code ?? "ended").catch(() => {});
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
    const record = this.call && (await api(`/api/calls/${this.call.id}`).catch(() => null));
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
  }

  #setStatus(status) {
    this.state = { ...this.state, status };
    this.#emit();
  }

  #emit() {
    this.dispatchEvent(new CustomEvent("change", { detail: this.state }));
  }
}
