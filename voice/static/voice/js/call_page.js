// The call page: the call bar's controls, the live transcript, and the call client of the
// chosen mode. Server data arrives through json_script and data-* attributes.

import { api } from "../../js/api.js";
import { AudioLevel } from "../../js/audio_level.js";
import { StatusSocket } from "../../js/status_socket.js";
import { TranscriptView } from "../../js/transcript_view.js";
import { showCallCost, showMonthSpend } from "./call_cost.js";
import { offerLegacy } from "./fallback.js";
import { endedNotice } from "./end_reasons.js";
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
  monthSpend: $("#month-spend"),
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
let call = null; // this tab's current call client
// This tab's call clients still connecting or ending: their calls are not "elsewhere".
const ownClients = new Set();
let ending = Promise.resolve(); // settles once every call this tab ended is ended on the server
let muted = false;
let audio = null; // { context, mic, assistant } level meters
let wakeLock = null;
let timer = null;
let unsupported = { realtime: null, legacy: null }; // what this browser lacks, per mode
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
  return !unsupported[mode] && config[mode].available;
}

function setUpModes() {
  for (const mode of ["realtime", "legacy"]) {
    ui.mode.querySelector(`option[value="${mode}"]`).disabled = !modeAvailable(mode);
  }
  if (unsupported.realtime) {
    const instead = modeAvailable("legacy") ? " Legacy mode works here." : "";
    showProblem(`${unsupported.realtime}${instead}`, { retry: false });
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
  if (unsupported.legacy) hints.push(`Legacy unavailable: ${unsupported.legacy}`);
  else if (!config.legacy.available) hints.push("Legacy unavailable: no OpenAI key is set up for you.");
  ui.hint.textContent = hints.join(" ");
  updateStartButton();
}

// --- calls in other tabs ----------------------------------------------------------------------

function otherLiveCall() {
  const ours = [...ownClients];
  if (ours.some((client) => !client.call)) return null; // our own start is in flight: its events are ours
  const own = new Set(ours.map((client) => client.call.id));
  return [...liveCalls.values()].find((live) => !own.has(live.id)) ?? null;
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
    current.end(update.ended_reason || "other_tab");
    showNotice(endedNotice(update.ended_reason));
  }
  updateStartButton();
}

function refreshMonthSpend() {
  return showMonthSpend(ui.monthSpend, () => api("/api/voice/usage"));
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

function startCall() {
  if (call) return;
  clearProblem();
  showNotice(null);
  setStatus("connecting");
  unlockAudio(); // inside the tap: mobile browsers play nothing otherwise
  const Client = clients[ui.mode.value];
  const current = (call = new Client({
    voice: ui.voice.value,
    conversationId,
    micDeviceId: ui.mic.value || null,
    audioElement: ui.audio,
    stt: ui.stt.value,
    tts: ui.tts.value,
  }));
  ownClients.add(current);
  current.addEventListener("change", (event) => render(event.detail, current));
  current.addEventListener("failed", (event) => {
    ownClients.delete(current);
    if (call === current) callFailed(event.detail);
  });
  connect(current);
}

async function connect(current) {
  try {
    await ending; // a call ended while connecting is hung up first: one live call per user
    await current.start();
  } catch (error) {
    ownClients.delete(current);
    if (error.code === "call_active" && error.body?.active_call) {
      liveCalls.set(error.body.active_call, { id: error.body.active_call, status: "active" });
    }
    if (call === current) {
      callFailed({ code: error.code ?? error.name, message: error.message || "The call could not start." });
    }
    return;
  }
  if (call !== current) return; // ended while connecting
  ownClients.delete(current);
  current.setMuted(muted);
  if (current.call) adoptConversation(current.call.conversation);
  updateStartButton();
  startTimer();
  keepAwake();
  fillMicrophones().catch(() => {});
}

function callFailed({ code, message }) {
  const mode = ui.mode.value;
  stopCall();
  setStatus("error");
  const legacy = offerLegacy({ mode, code, legacyAvailable: modeAvailable("legacy") });
  showProblem(message, { retry: true, legacy });
}

function endCall() {
  const current = call;
  if (!current) return;
  setStatus("ended");
  stopCall();
  ownClients.add(current); // until the server has it ended
  const ended = current.end("user").catch(() => {}).finally(() => {
    ownClients.delete(current);
    updateStartButton();
  });
  ending = Promise.all([ending, ended]);
}

function stopCall() {
  const ended = call?.call?.id;
  if (ended) showCallCost(ui.cost, ended, (id) => api(`/api/calls/${id}`)).then(refreshMonthSpend);
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

// A client's state on the page; an ended client may still report its last words.
function render(state, client) {
  const current = call === client;
  if (current && state.status !== "error") setStatus(state.status);
  // An ended client's last reports may still bring news, but never wipe what the page says
  // about how the call ended (e.g. "ended from another tab", shown as it ended).
  if (current) showNotice(state.notice);
  else if (!call && state.notice) showNotice(state.notice);
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
  if (state.status === "ended" && current) {
    stopCall();
    if (state.error) showProblem(state.error.message, { retry: true });
    else if (state.endedBy) showNotice(endedNotice(state.endedBy));
  }
  if (current) meterStreams();
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
  audio.mic = meterFor(audio.mic, call.localStream); // a switched microphone is a new stream
  audio.assistant = meterFor(audio.assistant, call.remoteStream);
  if (!audio.frame) audio.frame = requestAnimationFrame(drawLevel);
}

function meterFor(meter, stream) {
  if (meter?.stream === stream) return meter;
  meter?.disconnect();
  return stream ? new AudioLevel(audio.context, stream) : null;
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

// Both call clients are loaded before any control works: a call is built the moment Start is
// pressed, so that End can stop it at any point.
const [realtime, legacy] = await Promise.all([
  import(bar.dataset.clientRealtime),
  import(bar.dataset.clientLegacy),
]);
const clients = { realtime: realtime.RealtimeCall, legacy: legacy.LegacyCall };

ui.start.addEventListener("click", startCall);
ui.endElsewhere.addEventListener("click", async () => {
  const other = otherLiveCall();
  if (!other) return;
  try {
    trackCall(await api(`/api/calls/${other.id}/end`, { method: "POST", body: { reason: "other_tab" } }));
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

unsupported = { realtime: realtime.realtimeSupport(), legacy: legacy.legacySupport() };
setUpEngines();
setUpModes();
setUpKeyDialog(async () => {
  Object.assign(config, await api("/api/voice/config")); // availability may have changed
  setUpModes();
});
fillMicrophones().catch(() => {});
refreshMonthSpend();
