// The call page: the call bar's controls, the live transcript, and the call client of the
// chosen mode. Server data arrives through json_script and data-* attributes.

import { api } from "../../js/api.js";
import { AudioLevel } from "../../js/audio_level.js";
import { StatusSocket } from "../../js/status_socket.js";
import { TranscriptView } from "../../js/transcript_view.js";
import { showCallCost } from "./call_cost.js";
import { setUpKeyDialog } from "./key_dialog.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#voice-client-config").textContent);
const bar = $(".call-bar");
const ui = {
  mode: $("#voice-mode"),
  status: $("#call-status"),
  ring: $("#level-ring"),
  elapsed: $("#elapsed"),
  cost: $("#call-cost"),
  start: $("#call-start"),
  end: $("#call-end"),
  mute: $("#call-mute"),
  retry: $("[data-testid=call-retry]"),
  problem: $("#call-problem"),
  error: $("[data-testid=call-error]"),
  switchToLegacy: $("#switch-to-legacy"),
  notice: $("#call-notice"),
  voice: $("#voice-picker"),
  mic: $("#mic-picker"),
  stt: $("#stt-picker"),
  tts: $("#tts-picker"),
  hint: $("#mode-hint"),
  audio: $("#assistant-audio"),
  newConversation: $("#new-conversation"),
  elsewhere: $("#call-elsewhere"),
  endElsewhere: $("#end-elsewhere"),
  title: $("#conversation-title"),
};
const transcript = new TranscriptView($("[data-testid=transcript]"));
const REASONS = {
  disabled: "Realtime is turned off by the administrator.",
  no_api_key: "No OpenAI key is set up for you.",
};

let conversationId = bar.dataset.conversation || null;
let call = null;
let muted = false;
let audio = null; // { context, mic, assistant } level meters
let wakeLock = null;
let timer = null;
let unsupported = null;
let conversationTitled = Boolean(bar.dataset.conversation);
// The user's live calls as the server reports them (this tab's and any other's).
const liveCalls = new Map();
const LIVE = ["connecting", "active"];

function setStatus(word) {
  ui.status.textContent = word;
  bar.dataset.status = word;
  const live = !["idle", "ended", "error"].includes(word);
  ui.start.hidden = live;
  ui.end.hidden = !live;
  ui.mute.disabled = !live;
  ui.mode.disabled = live; // one mode per call
  if (live) ui.cost.hidden = true;
}

function showProblem(message, { retry = true, legacy = false } = {}) {
  ui.error.textContent = message;
  ui.problem.hidden = false;
  ui.retry.hidden = !retry;
  ui.switchToLegacy.hidden = !legacy;
}

function clearProblem() {
  ui.error.textContent = "";
  ui.problem.hidden = true;
}

function showNotice(message) {
  ui.notice.textContent = message ?? "";
  ui.notice.hidden = !message;
}

// --- mode, voice and microphone ------------------------------------------------------------

function modeAvailable(mode) {
  if (mode === "realtime") return !unsupported && config.realtime.available;
  return config.legacy.available;
}

function setUpModes() {
  const realtimeOption = ui.mode.querySelector('option[value="realtime"]');
  realtimeOption.disabled = !modeAvailable("realtime");
  if (unsupported) {
    showProblem(`${unsupported} Legacy mode works here.`, { retry: false });
  }
  if (!modeAvailable(ui.mode.value) && modeAvailable("legacy")) ui.mode.value = "legacy";
  showModeHint();
  fillVoices();
}

function showModeHint() {
  const hints = [];
  if (!config.realtime.available && config.realtime.reason) {
    hints.push(`Realtime unavailable: ${REASONS[config.realtime.reason] ?? config.realtime.reason}`);
  }
  if (!config.legacy.available) hints.push("Legacy unavailable: no OpenAI key is set up for you.");
  ui.hint.textContent = hints.join(" ");
  updateStartButton();
}

// --- calls in other tabs ----------------------------------------------------------------------

function otherLiveCall() {
  if (call && !call.call) return null; // our own start is in flight: its events are ours
  const own = call?.call?.id;
  return [...liveCalls.values()].find((live) => live.id !== own) ?? null;
}

function updateStartButton() {
  const other = otherLiveCall();
  ui.elsewhere.hidden = !other || Boolean(call);
  ui.start.disabled = Boolean(other) || !modeAvailable(ui.mode.value);
  ui.retry.disabled = Boolean(other);
}

function trackCall(update) {
  if (LIVE.includes(update.status)) liveCalls.set(update.id, update);
  else liveCalls.delete(update.id);
  const own = call?.call?.id === update.id;
  if (own && !LIVE.includes(update.status) && !["ended", "error"].includes(call.status)) {
    const current = call; // ended elsewhere: another tab, or the stale-call rule
    setStatus("ended");
    stopCall();
    current.end(update.ended_reason || "ended_elsewhere");
    showNotice(endedElsewhere(update.ended_reason));
  }
  updateStartButton();
}

function endedElsewhere(reason) {
  if (reason === "ended_from_another_tab") return "This call was ended from another tab.";
  if (reason === "max_duration") return "This call reached the longest call allowed.";
  return "This call was ended elsewhere.";
}

async function refreshLiveCalls() {
  try {
    const { results } = await api("/api/calls");
    liveCalls.clear();
    for (const recent of results) if (LIVE.includes(recent.status)) liveCalls.set(recent.id, recent);
    updateStartButton();
  } catch {
    // the next status event corrects it
  }
}

function showOtherTabsWords({ call_id: callId, item }) {
  const other = liveCalls.get(callId);
  if (callId === call?.call?.id || !other || other.conversation !== conversationId) return;
  transcript.update([{ ...item, heard: item.text }]);
}

// Speech engines for Legacy mode, remembered per device: the browser's own may not exist.
function setUpEngines() {
  const browserStt = Boolean(window.SpeechRecognition || window.webkitSpeechRecognition);
  const browserTts = Boolean(window.speechSynthesis);
  ui.stt.querySelector('option[value="browser"]').disabled = !browserStt;
  ui.tts.querySelector('option[value="browser"]').disabled = !browserTts;
  ui.stt.value = (browserStt && localStorage.getItem("voice.stt")) || "server";
  ui.tts.value = (browserTts && localStorage.getItem("voice.tts")) || "server";
}

function fillVoices() {
  const voices = ui.mode.value === "realtime" ? config.realtime.voices : config.legacy.voices;
  bar.dataset.mode = ui.mode.value;
  const wanted = voices.includes(config.preference.voice) ? config.preference.voice : config.realtime.default_voice;
  ui.voice.replaceChildren(...voices.map((voice) => new Option(capitalize(voice), voice, false, voice === wanted)));
}

async function fillMicrophones() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const mics = devices.filter((device) => device.kind === "audioinput" && device.deviceId);
  const chosen = ui.mic.value;
  ui.mic.replaceChildren(
    new Option("Default microphone", ""),
    ...mics.map((mic, n) => new Option(mic.label || `Microphone ${n + 1}`, mic.deviceId, false, mic.deviceId === chosen)),
  );
}

async function savePreference(change) {
  try {
    config.preference = await api("/api/voice/preferences", { method: "PATCH", body: change });
  } catch (error) {
    showNotice(`Your choice was not saved: ${error.message}`);
  }
}

// --- the call -------------------------------------------------------------------------------

async function clientFor(mode) {
  const url = bar.dataset[`client${capitalize(mode)}`];
  if (!url) throw new Error(`${capitalize(mode)} calls are not available on this server yet.`);
  const module = await import(url);
  return mode === "realtime" ? module.RealtimeCall : module.LegacyCall;
}

async function startCall() {
  if (call) return;
  clearProblem();
  showNotice(null);
  setStatus("connecting");
  unlockAudio(); // inside the tap: mobile browsers play nothing otherwise
  const mode = ui.mode.value;
  try {
    const Client = await clientFor(mode);
    call = new Client({
      voice: ui.voice.value,
      conversationId,
      micDeviceId: ui.mic.value || null,
      audioElement: ui.audio,
      stt: ui.stt.value,
      tts: ui.tts.value,
    });
    call.addEventListener("change", (event) => render(event.detail));
    call.addEventListener("failed", (event) => callFailed(event.detail));
    await call.start();
    call.setMuted(muted);
    if (call.call) adoptConversation(call.call.conversation);
    updateStartButton();
    startTimer();
    keepAwake();
    fillMicrophones().catch(() => {});
  } catch (error) {
    if (error.code === "call_active" && error.body?.active_call) {
      liveCalls.set(error.body.active_call, { id: error.body.active_call, status: "active" });
    }
    callFailed({ message: error.message || "The call could not start." });
  }
}

function callFailed({ message }) {
  stopCall();
  setStatus("error");
  showProblem(message, { retry: true });
}

async function endCall() {
  const current = call;
  if (!current) return;
  setStatus("ended");
  stopCall();
  await current.end("hangup");
}

function stopCall() {
  const ended = call?.call?.id;
  if (ended) showCallCost(ui.cost, ended, (id) => api(`/api/calls/${id}`));
  call = null;
  updateStartButton();
  stopTimer();
  releaseWakeLock();
  audio?.mic?.disconnect();
  audio?.assistant?.disconnect();
  if (audio) audio.mic = audio.assistant = null;
  ui.ring.style.setProperty("--level", 0);
}

function adoptConversation(id) {
  if (!id || id === conversationId) return;
  conversationId = id;
  const url = new URL(window.location);
  url.searchParams.set("conversation", id);
  history.replaceState(null, "", url);
}

function render(state) {
  if (call && state.status !== "error") setStatus(state.status);
  showNotice(state.notice);
  transcript.update(
    [...state.items.values()].map((item) => ({
      item_id: item.item_id,
      role: item.role,
      previous_item_id: item.previous_item_id,
      interrupted: item.interrupted,
      heard: item.interrupted && item.heardChars != null ? item.text.slice(0, item.heardChars) : item.text,
      unheard: item.interrupted && item.heardChars != null ? item.text.slice(item.heardChars) : "",
      pending: !item.final && !item.text,
    })).filter((item) => item.heard || item.pending || item.interrupted),
  );
  const firstWords = [...state.items.values()].find((item) => item.role === "user" && item.text)?.text;
  if (!conversationTitled && firstWords) {
    ui.title.textContent = firstWords.length > 80 ? `${firstWords.slice(0, 79)}…` : firstWords;
    conversationTitled = true;
  }
  if (state.status === "ended" && call) {
    stopCall();
    if (state.error) showProblem(state.error.message, { retry: true });
    else if (state.endedBy) showNotice(endedElsewhere(state.endedBy));
  }
  meterStreams();
}

// --- audio: unlock, level ring, wake lock -----------------------------------------------------

function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!audio && Context) audio = { context: new Context() };
  audio?.context.resume().catch(() => {});
  ui.audio.play().catch(() => {}); // an empty play() in the gesture unlocks later playback
}

function meterStreams() {
  if (!audio?.context || !call) return;
  if (!audio.mic && call.localStream) audio.mic = new AudioLevel(audio.context, call.localStream);
  if (!audio.assistant && call.remoteStream) audio.assistant = new AudioLevel(audio.context, call.remoteStream);
  if (!audio.frame) audio.frame = requestAnimationFrame(drawLevel);
}

function drawLevel() {
  audio.frame = null;
  if (!call) return;
  const source = call.status === "speaking" ? audio.assistant : audio.mic;
  const level = muted && source === audio.mic ? 0 : (source?.read() ?? 0);
  ui.ring.style.setProperty("--level", level.toFixed(3));
  audio.frame = requestAnimationFrame(drawLevel);
}

async function keepAwake() {
  try {
    wakeLock = await navigator.wakeLock?.request("screen");
  } catch {
    wakeLock = null; // not granted (battery saver, unsupported): the call still works
  }
}

function releaseWakeLock() {
  wakeLock?.release().catch(() => {});
  wakeLock = null;
}

function startTimer() {
  const began = Date.now();
  stopTimer();
  timer = setInterval(() => {
    const seconds = Math.floor((Date.now() - began) / 1000);
    ui.elapsed.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }, 500);
}

function stopTimer() {
  clearInterval(timer);
  timer = null;
}

function capitalize(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

// --- wiring ---------------------------------------------------------------------------------

ui.start.addEventListener("click", startCall);
ui.endElsewhere.addEventListener("click", async () => {
  const other = otherLiveCall();
  if (!other) return;
  try {
    trackCall(await api(`/api/calls/${other.id}/end`, { method: "POST", body: { reason: "ended_from_another_tab" } }));
  } catch (error) {
    showNotice(error.message);
  }
});
ui.retry.addEventListener("click", startCall);
ui.end.addEventListener("click", endCall);
ui.mute.addEventListener("click", () => {
  muted = !muted;
  call?.setMuted(muted);
  ui.mute.setAttribute("aria-pressed", String(muted));
  ui.mute.textContent = muted ? "Unmute" : "Mute";
});
ui.mode.addEventListener("change", () => {
  fillVoices();
  showModeHint();
  clearProblem();
  savePreference({ mode: ui.mode.value });
});
ui.voice.addEventListener("change", () => savePreference({ voice: ui.voice.value }));
ui.stt.addEventListener("change", () => localStorage.setItem("voice.stt", ui.stt.value));
ui.tts.addEventListener("change", () => localStorage.setItem("voice.tts", ui.tts.value));
ui.mic.addEventListener("change", () => call?.useMicrophone?.(ui.mic.value || null).catch((e) => showNotice(e.message)));
ui.switchToLegacy.addEventListener("click", () => {
  ui.mode.value = "legacy";
  ui.mode.dispatchEvent(new Event("change"));
});
ui.newConversation.addEventListener("click", () => {
  if (call) return;
  conversationId = null;
  conversationTitled = false;
  transcript.clear();
  ui.title.textContent = "New conversation";
  history.replaceState(null, "", window.location.pathname);
});
document.addEventListener("visibilitychange", () => {
  if (call && document.visibilityState === "visible" && !wakeLock) keepAwake();
});
window.addEventListener("pagehide", () => call?.endOnUnload?.());
navigator.mediaDevices?.addEventListener?.("devicechange", () => fillMicrophones().catch(() => {}));

const initiallyLive = JSON.parse($("#voice-active-call").textContent);
if (initiallyLive) liveCalls.set(initiallyLive.id, initiallyLive);
const socket = new StatusSocket();
socket.addEventListener("call.status", (event) => trackCall(event.detail.call));
socket.addEventListener("call.transcript", (event) => showOtherTabsWords(event.detail));
socket.addEventListener("open", refreshLiveCalls);

const { realtimeSupport } = await import(bar.dataset.clientRealtime);
unsupported = realtimeSupport();
setUpEngines();
setUpModes();
setUpKeyDialog(async () => {
  Object.assign(config, await api("/api/voice/config")); // availability may have changed
  setUpModes();
});
fillMicrophones().catch(() => {});
