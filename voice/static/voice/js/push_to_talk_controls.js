// The call page's push-to-talk: the settings toggle, and the call-ptt button held with a
// pointer (mouse, pen or finger: pointer events cover touch) or the space bar. Decisions come
// from push_to_talk.js; the call client of either mode does the talking through
// setPushToTalk(on), pttPress() and pttRelease().

import { buttonView, hold, letGo, letGoAll, pushToTalkFor, spaceIsOurs, toggleView } from "./push_to_talk.js";

export class PushToTalkControls {
  constructor({ bar, button, toggle, config, legacySupported, save }) {
    Object.assign(this, { bar, button, toggle, config, legacySupported, save });
    this.mode = "realtime";
    this.client = null;
    this.holders = new Set();
    this.#listen();
    this.#render();
  }

  // The mode control changed (or the configuration was reloaded).
  modeChanged(mode) {
    this.mode = mode;
    this.#render();
  }

  // A call starts in `mode`: it runs on held turns as the toggle says; the button follows it.
  attach(client, mode) {
    this.#letGoAll();
    this.mode = mode;
    this.client = client;
    const on = pushToTalkFor(mode, this.config, { legacySupported: this.legacySupported });
    if (typeof client.setPushToTalk === "function") client.setPushToTalk(on);
    this.requested = on;
    client.addEventListener("change", () => {
      if (client !== this.client) return;
      if (!this.#live()) this.#letGoAll();
      this.#render();
    });
    this.#render();
  }

  #on() {
    // A Realtime call says what the server set up (the admin may have made it push-to-talk).
    return typeof this.client?.pushToTalk === "boolean" ? this.client.pushToTalk : Boolean(this.requested);
  }

  #live() {
    return Boolean(this.client) && !["idle", "ended", "error"].includes(this.client.status);
  }

  #usable() {
    return !buttonView(this.#view()).disabled;
  }

  #view() {
    const status = this.client?.status ?? "idle";
    return { on: this.#on(), status, held: this.holders.size > 0 };
  }

  #press(source) {
    if (!this.#usable()) return;
    const { holders, pressed } = hold(this.holders, source);
    this.holders = holders;
    if (pressed) this.client.pttPress?.();
    this.#render();
  }

  #release(source) {
    const { holders, released } = letGo(this.holders, source);
    this.holders = holders;
    if (released) this.client?.pttRelease?.();
    this.#render();
  }

  #letGoAll() {
    const { holders, released } = letGoAll(this.holders);
    this.holders = holders;
    if (released) this.client?.pttRelease?.();
  }

  #listen() {
    const { button, toggle } = this;
    button.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault(); // no text selection, no focus ring flicker, no emulated mouse
      button.setPointerCapture?.(event.pointerId); // pointerup comes here even outside it
      this.#press("pointer");
    });
    // Wherever the pointer is let go, or the browser takes it over (a scroll, a call).
    for (const type of ["pointerup", "pointercancel"]) {
      window.addEventListener(type, () => this.#release("pointer"));
    }
    button.addEventListener("lostpointercapture", () => this.#release("pointer"));
    button.addEventListener("contextmenu", (event) => event.preventDefault()); // a long touch
    button.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault(); // Enter would click, not hold
    });
    document.addEventListener("keydown", (event) => {
      if (!spaceIsOurs(event) || !this.#usable()) return;
      event.preventDefault(); // no page scroll, no click on a focused button
      if (!event.repeat) this.#press("key");
    });
    document.addEventListener("keyup", (event) => {
      if (!this.holders.has("key") || (event.code !== "Space" && event.key !== " ")) return;
      event.preventDefault();
      this.#release("key");
    });
    window.addEventListener("blur", () => this.#releaseAll());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.#releaseAll();
    });
    toggle.addEventListener("change", async () => {
      this.config.preference = { ...this.config.preference, push_to_talk: toggle.checked };
      await this.save({ push_to_talk: toggle.checked });
      this.#render();
    });
  }

  #releaseAll() {
    this.#letGoAll();
    this.#render();
  }

  #render() {
    const view = buttonView(this.#view());
    this.button.hidden = view.hidden;
    this.button.disabled = view.disabled;
    this.button.textContent = view.label;
    this.button.setAttribute("aria-pressed", String(view.state === "listening"));
    this.bar.dataset.ptt = view.state;
    const toggle = toggleView(this.mode, this.config, { live: this.#live(), legacySupported: this.legacySupported });
    this.toggle.checked = toggle.checked;
    this.toggle.disabled = toggle.disabled;
    this.toggle.closest("label").title = toggle.title;
  }
}
