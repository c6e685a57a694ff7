// The call page's wiring: a call's life (start, connect, render, end) and the controls that
// drive it. The page's other jobs are modules of their own: what the call bar shows
// (call_bar.js), its choices (call_settings.js), the call's audio (call_audio.js), the
// conversation list (conversation_sidebar.js), the shown conversation (conversation_view.js),
// the typed input (typed_input.js), other tabs' calls (live_calls.js). Server data arrives
// through json_script, the API's addresses too (by URL name, through js/urls.js).

import { api } from "../../js/api.js";
import { StatusSocket } from "../../js/status_socket.js";
import { TranscriptView } from "../../js/transcript_view.js";
import { urlFor } from "../../js/urls.js";
import { CallAudio } from "./call_audio.js";
import { CallBar } from "./call_bar.js";
import { showCallCost, showMonthSpend } from "./call_cost.js";
import { CallSettings } from "./call_settings.js";
import { ConversationSidebar } from "./conversation_sidebar.js";
import { ConversationView } from "./conversation_view.js";
import { endedNotice } from "./end_reasons.js";
import { offerLegacy } from "./fallback.js";
import { setUpKeyDialog } from "./key_dialog.js";
import { LiveCalls } from "./live_calls.js";
import { PushToTalkControls } from "./push_to_talk_controls.js";
import { readAloudButton, TypedInput, wireReadAloud } from "./typed_input.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#voice-client-config").textContent);
const bar = $(".call-bar");
const ui = {
  mode: $("#voice-mode"),
  status: $("#call-status"),
  muted: $("#call-muted"),
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
  settings: $("#call-settings"),
  settingsToggle: $("#settings-toggle"),
  newConversation: $("#new-conversation"),
  elsewhere: $("#call-elsewhere"),
  endElsewhere: $("#end-elsewhere"),
};

const transcript = new TranscriptView($("[data-testid=transcript]"), { decorate: readAloudButton });
const sidebar = new ConversationSidebar({
  root: $("#conversation-drawer"),
  backdrop: $("#drawer-backdrop"),
  opener: $("#drawer-open"),
  deleteDialog: $("#delete-dialog"),
});
const shown = new ConversationView({
  id: bar.dataset.conversation,
  title: $("#conversation-title"),
  transcript,
});
const settings = new CallSettings({ ui, config });
const callBar = new CallBar({ bar, ui });
const audio = new CallAudio({ ring: $("#level-ring"), element: $("#assistant-audio") });
const liveCalls = new LiveCalls(); // the user's live calls, this tab's and any other's

let call = null; // this tab's current call client
// This tab's call clients still connecting or ending: their calls are not "elsewhere".
const ownClients = new Set();
let ending = Promise.resolve(); // settles once every call this tab ended is ended on the server

// --- calls in other tabs ----------------------------------------------------------------------

function updateStartButton() {
  const other = liveCalls.other(ownClients);
  ui.elsewhere.hidden = !other || Boolean(call);
  ui.start.disabled = Boolean(other) || !settings.available(settings.mode);
  ui.retry.disabled = Boolean(other);
}

function trackCall(update) {
  liveCalls.track(update);
  const own = call?.call?.id === update.id;
  if (own && !LIVE_CALL.includes(update.status) && !["ended", "error"].includes(call.status)) {
    const current = call; // ended elsewhere: another tab, or the stale-call rule
    callBar.setStatus("ended");
    stopCall();
    current.end(update.ended_reason || "other_tab");
    callBar.showNotice(endedNotice(update.ended_reason));
  }
  updateStartButton();
}
const LIVE_CALL = ["connecting", "active"];

async function refreshLiveCalls() {
  try {
    const { results } = await api(urlFor("call-list"));
    liveCalls.replace(results);
    updateStartButton();
  } catch {
    // the next status event corrects it
  }
}

// The server titles a conversation by its first user turn once that turn is saved: the list's
// row follows when the save is pushed.
function followSavedTitle({ call_id: callId, item }) {
  const conversation = call?.call?.id === callId ? call.call.conversation : null;
  if (conversation && item.role === "user" && item.text && !sidebar.titled(conversation)) sidebar.refresh(conversation);
}

function showOtherTabsWords({ call_id: callId, item }) {
  // A tool's line comes only from the server (the call monitor, or the Legacy reply): shown for
  // this page's own call too.
  if (item.role === "tool" && callId === call?.call?.id) return transcript.update([{ ...item, heard: item.text }]);
  const other = liveCalls.get(callId);
  if (callId === call?.call?.id || !other || other.conversation !== shown.id) return;
  transcript.update([{ ...item, heard: item.text }]);
}

function refreshMonthSpend() {
  return showMonthSpend(ui.monthSpend, () => api(urlFor("voice-usage")));
}

// --- the call -------------------------------------------------------------------------------

function startCall() {
  if (call) return;
  // With "call:listening", how long a start takes as the caller feels it (bench/voice_to_voice.py).
  performance.mark("call:start", { detail: { mode: settings.mode } });
  callBar.clearProblem();
  callBar.showNotice(null);
  callBar.setStatus("connecting");
  audio.unlock(); // inside the tap
  const Client = clients[settings.mode];
  const current = (call = new Client({
    voice: ui.voice.value,
    conversationId: shown.id,
    micDeviceId: ui.mic.value || null,
    audioElement: audio.element,
    stt: ui.stt.value,
    tts: ui.tts.value,
  }));
  ownClients.add(current);
  ptt.attach(current, ui.mode.value);
  current.addEventListener("change", (event) => render(event.detail, current));
  current.addEventListener("tool", (event) => transcript.update([{ ...event.detail, heard: event.detail.text }]));
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
      liveCalls.track({ id: error.body.active_call, status: "active" });
    }
    if (call === current) {
      callFailed({ code: error.code ?? error.name, message: error.message || "The call could not start." });
    }
    return;
  }
  if (call !== current) return; // ended while connecting
  ownClients.delete(current);
  current.setMuted(callBar.muted);
  if (current.call) adoptConversation(current.call.conversation);
  updateStartButton();
  audio.keepAwake();
  settings.fillMicrophones().catch(() => {});
}

function callFailed({ code, message }) {
  const mode = settings.mode;
  stopCall();
  callBar.setStatus("error");
  const legacy = offerLegacy({ mode, code, legacyAvailable: settings.available("legacy") });
  callBar.showProblem(message, { retry: true, legacy });
}

function endCall() {
  const current = call;
  if (!current) return;
  callBar.setStatus("ended");
  stopCall();
  ownClients.add(current); // until the server has it ended
  const ended = current
    .end("user")
    .catch(() => {})
    .finally(() => {
      ownClients.delete(current);
      updateStartButton();
    });
  ending = Promise.all([ending, ended]);
}

function stopCall() {
  const ended = call?.call;
  if (ended) {
    showCallCost(ui.cost, ended.id, (id) => api(urlFor("call-detail", id))).then(refreshMonthSpend);
    if (ended.conversation) sidebar.refresh(ended.conversation, { has_calls: true });
  }
  if (call) shown.dropUnheard(call.state.items.values());
  call = null;
  updateStartButton();
  callBar.stopTimer();
  audio.stop();
}

function adoptConversation(id) {
  if (!shown.adopt(id)) return;
  sidebar.setCurrent(id);
  sidebar.refresh(id, call?.call?.conversation === id ? { has_calls: true } : {});
}

// A client's state on the page; an ended client may still report its last words.
function render(state, client) {
  const current = call === client;
  if (current && state.status === "listening" && bar.dataset.status === "connecting") {
    performance.mark("call:listening", { detail: { mode: settings.mode } });
  }
  if (current && state.status !== "error") callBar.setStatus(state.status);
  // An ended client's last reports may still bring news, but never wipe what the page says
  // about how the call ended (e.g. "ended from another tab", shown as it ended).
  if (current) callBar.showNotice(state.notice);
  else if (!call && state.notice) callBar.showNotice(state.notice);
  const items = [...state.items.values()];
  const words = items.map((item) => ({
    item_id: item.item_id,
    role: item.role,
    source: item.source,
    previous_item_id: item.previous_item_id,
    interrupted: item.interrupted,
    heard: item.interrupted && item.heardChars != null ? item.text.slice(0, item.heardChars) : item.text,
    unheard: item.interrupted && item.heardChars != null ? item.text.slice(item.heardChars) : "",
    pending: !item.final && !item.text,
  }));
  // Once the call is over, a turn never heard has no bubble to come back to.
  const over = !current || ["ended", "error"].includes(state.status);
  transcript.update(words.filter((item) => item.heard || (item.pending && !over) || item.interrupted));
  if (over) shown.dropUnheard(items);
  shown.follow(items);
  if (state.status === "ended" && current) {
    stopCall();
    if (state.error) callBar.showProblem(state.error.message, { retry: true });
    else if (state.endedBy) callBar.showNotice(endedNotice(state.endedBy));
  }
  if (current) audio.follow(call, callBar.muted);
}

// --- which conversation is shown ------------------------------------------------------------

async function openConversation(id, { push = true } = {}) {
  if (call) return callBar.showNotice("End the call to open another conversation.");
  try {
    await shown.open(id, { push });
  } catch (error) {
    callBar.showNotice(error.code === "not_found" ? "That conversation no longer exists." : error.message);
    if (error.code === "not_found") sidebar.reload();
    return;
  }
  sidebar.setCurrent(id);
  sidebar.closeDrawer();
  callBar.showNotice(null);
}

function newConversation({ push = true } = {}) {
  if (call) return callBar.showNotice("End the call to start a new conversation.");
  shown.clear({ push });
  sidebar.setCurrent(null);
  sidebar.closeDrawer();
}

// --- wiring ---------------------------------------------------------------------------------

// Both call clients are loaded before any control works: a call is built the moment Start is
// pressed, so that End can stop it at any point.
const [realtime, legacy] = await Promise.all([import(bar.dataset.clientRealtime), import(bar.dataset.clientLegacy)]);
const clients = { realtime: realtime.RealtimeCall, legacy: legacy.LegacyCall };
const ptt = new PushToTalkControls({
  bar,
  button: $("#call-ptt"),
  toggle: $("#ptt-toggle"),
  config,
  legacySupported: typeof legacy.LegacyCall.prototype.setPushToTalk === "function",
  save: (change) => settings.save(change),
});

ui.start.addEventListener("click", startCall);
ui.endElsewhere.addEventListener("click", async () => {
  const other = liveCalls.other(ownClients);
  if (!other) return;
  try {
    trackCall(await api(urlFor("call-end", other.id), { method: "POST", body: { reason: "other_tab" } }));
  } catch (error) {
    callBar.showNotice(error.message);
  }
});
ui.retry.addEventListener("click", startCall);
ui.end.addEventListener("click", endCall);
ui.mute.addEventListener("click", () => {
  callBar.setMuted(!callBar.muted);
  call?.setMuted(callBar.muted);
  audio.muted = callBar.muted;
});
settings.addEventListener("change", updateStartButton);
settings.addEventListener("modechange", () => {
  callBar.clearProblem();
  ptt.modeChanged(ui.mode.value);
});
settings.addEventListener("notice", (event) => callBar.showNotice(event.detail));
settings.addEventListener("problem", (event) => callBar.showProblem(event.detail.message, event.detail));
ui.mic.addEventListener("change", () =>
  call?.useMicrophone?.(ui.mic.value || null).catch((e) => callBar.showNotice(e.message)),
);
ui.switchToLegacy.addEventListener("click", () => settings.useLegacy());
// Rendered disabled: a click before this line would be lost, and the call would continue the
// conversation the user had just left.
for (const button of [ui.newConversation, $("#new-conversation-here")]) {
  button.addEventListener("click", () => newConversation()); // the second is for phones: no sidebar
  button.disabled = false;
}
window.addEventListener("popstate", () => {
  if (call) return;
  const id = new URL(window.location).searchParams.get("conversation");
  if (id) openConversation(id, { push: false });
  else newConversation({ push: false });
});
document.addEventListener("visibilitychange", () => {
  if (call && document.visibilityState === "visible" && !audio.wakeLock) audio.keepAwake();
});
window.addEventListener("pagehide", () => call?.endOnUnload?.());

sidebar.addEventListener("open", (event) => openConversation(event.detail));
sidebar.addEventListener("deleted", (event) => {
  if (event.detail === shown.id && !call) newConversation({ push: false });
});
sidebar.addEventListener("renamed", (event) => {
  if (event.detail.id === shown.id) shown.renamed(event.detail.title);
});
const typed = new TypedInput({
  form: $("#composer"),
  page: {
    call: () => call,
    conversationForText: () => shown.ensure(),
    shownId: () => shown.id,
    transcript,
    notify: (message) => callBar.showNotice(message),
  },
});
typed.addEventListener("saved", (event) => {
  adoptConversation(event.detail);
  sidebar.refresh(event.detail);
  if (event.detail === shown.id && !call) shown.reload().catch(() => {}); // what was drawn stays
});
wireReadAloud($("[data-testid=transcript]"), { inCall: () => Boolean(call) });

const initiallyLive = JSON.parse($("#voice-active-call").textContent);
if (initiallyLive) liveCalls.track(initiallyLive);
const socket = new StatusSocket();
socket.addEventListener("call.status", (event) => trackCall(event.detail.call));
socket.addEventListener("call.transcript", (event) => {
  showOtherTabsWords(event.detail);
  followSavedTitle(event.detail);
});
socket.addEventListener("open", refreshLiveCalls);

settings.setUp({ realtime: realtime.realtimeSupport(), legacy: legacy.legacySupport() });
ptt.modeChanged(ui.mode.value);
setUpKeyDialog(async () => {
  Object.assign(config, await api(urlFor("voice-config"))); // availability may have changed
  settings.refresh();
  ptt.modeChanged(ui.mode.value);
});
settings.fillMicrophones().catch(() => {});
refreshMonthSpend();
callBar.keepClear($(".topbar"));
sidebar.setCurrent(shown.id);
sidebar.reload();
transcript.scrollToEnd(); // a conversation opens at its latest turn
