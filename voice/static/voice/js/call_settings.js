// The call bar's choices: the mode (what this browser and the server allow), the voice, the
// microphone and Legacy's speech engines. Mode and voice are the user's saved preference;
// the engines are remembered per device, since the browser's own may not exist elsewhere.
// Emits "change" when what can be started may have changed, "problem" and "notice" to show.

import { api } from "../../js/api.js";
import { urlFor } from "../../js/urls.js";

const REASONS = {
  disabled: "Realtime is turned off by the administrator.",
  no_api_key: "No OpenAI key is set up for you.",
};

export class CallSettings extends EventTarget {
  constructor({ ui, config }) {
    super();
    this.ui = ui; // mode, voice, mic, stt, tts, hint, settings, settingsToggle
    this.config = config;
    this.unsupported = { realtime: null, legacy: null }; // what this browser lacks, per mode
    this.#wire();
  }

  get mode() {
    return this.ui.mode.value;
  }

  available(mode) {
    return !this.unsupported[mode] && this.config[mode].available;
  }

  // What this browser lacks, once the call clients have said; then the controls follow.
  setUp(unsupported) {
    this.unsupported = unsupported;
    this.#setUpEngines();
    this.refresh();
  }

  // Availability may have changed (a key saved): the modes, hint and voices follow.
  refresh() {
    const { ui } = this;
    for (const mode of ["realtime", "legacy"]) {
      ui.mode.querySelector(`option[value="${mode}"]`).disabled = !this.available(mode);
    }
    if (this.unsupported.realtime) {
      const instead = this.available("legacy") ? " Legacy mode works here." : "";
      this.#emit("problem", { message: `${this.unsupported.realtime}${instead}`, retry: false });
    }
    if (!this.available(ui.mode.value) && this.available("legacy")) ui.mode.value = "legacy";
    this.#showHint();
    this.#fillVoices();
  }

  useLegacy() {
    this.ui.mode.value = "legacy";
    this.ui.mode.dispatchEvent(new Event("change"));
  }

  async fillMicrophones() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const mics = devices.filter((device) => device.kind === "audioinput" && device.deviceId);
    const chosen = this.ui.mic.value;
    this.ui.mic.replaceChildren(
      new Option("Default microphone", ""),
      ...mics.map(
        (mic, n) => new Option(mic.label || `Microphone ${n + 1}`, mic.deviceId, false, mic.deviceId === chosen),
      ),
    );
  }

  #wire() {
    const { ui } = this;
    ui.mode.addEventListener("change", () => {
      this.#fillVoices();
      this.#showHint();
      this.#emit("modechange");
      this.save({ mode: ui.mode.value });
    });
    ui.voice.addEventListener("change", () => this.save({ voice: ui.voice.value }));
    ui.stt.addEventListener("change", () => localStorage.setItem("voice.stt", ui.stt.value));
    ui.tts.addEventListener("change", () => localStorage.setItem("voice.tts", ui.tts.value));
    // On phones the pickers fold away behind a button, to leave the screen to the conversation.
    ui.settingsToggle.addEventListener("click", () => {
      const open = ui.settings.classList.toggle("open");
      ui.settingsToggle.setAttribute("aria-expanded", String(open));
    });
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.fillMicrophones().catch(() => {}));
  }

  #showHint() {
    const hints = [];
    const { realtime, legacy } = this.config;
    if (!realtime.available && realtime.reason) {
      hints.push(`Realtime unavailable: ${REASONS[realtime.reason] ?? realtime.reason}`);
    }
    if (this.unsupported.legacy) hints.push(`Legacy unavailable: ${this.unsupported.legacy}`);
    else if (!legacy.available) hints.push("Legacy unavailable: no OpenAI key is set up for you.");
    this.ui.hint.textContent = hints.join(" ");
    this.#emit("change");
  }

  #setUpEngines() {
    const { ui } = this;
    const browserStt = Boolean(window.SpeechRecognition || window.webkitSpeechRecognition);
    const browserTts = Boolean(window.speechSynthesis);
    ui.stt.querySelector('option[value="browser"]').disabled = !browserStt;
    ui.tts.querySelector('option[value="browser"]').disabled = !browserTts;
    ui.stt.value = (browserStt && localStorage.getItem("voice.stt")) || "server";
    ui.tts.value = (browserTts && localStorage.getItem("voice.tts")) || "server";
  }

  #fillVoices() {
    const { ui, config } = this;
    const voices = ui.mode.value === "realtime" ? config.realtime.voices : config.legacy.voices;
    ui.mode.closest(".call-bar").dataset.mode = ui.mode.value;
    const wanted = voices.includes(config.preference.voice) ? config.preference.voice : config.realtime.default_voice;
    ui.voice.replaceChildren(...voices.map((voice) => new Option(capitalize(voice), voice, false, voice === wanted)));
  }

  async save(change) {
    try {
      this.config.preference = await api(urlFor("voice-preferences"), { method: "PATCH", body: change });
    } catch (error) {
      this.#emit("notice", `Your choice was not saved: ${error.message}`);
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function capitalize(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
