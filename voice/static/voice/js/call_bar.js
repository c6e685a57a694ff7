// What the call bar shows: the status word and all that follows from it (the buttons, the
// "muted" flag beside it, the timer), the problem with its Retry, a notice; and the room the
// page keeps for the bar, which floats over it.

import { elapsedText, LIVE_WORDS, timerRuns } from "./page_state.js";

export class CallBar {
  constructor({ bar, ui }) {
    this.bar = bar;
    this.ui = ui; // status, muted, elapsed, cost, start, end, mute, mode, retry, problem, error, switchToLegacy, notice
    this.muted = false;
    this.timer = null;
  }

  get live() {
    return LIVE_WORDS.includes(this.bar.dataset.status);
  }

  // The timer runs while the call is up and stops with any word that ends it.
  setStatus(word) {
    const { ui } = this;
    ui.status.textContent = word;
    this.bar.dataset.status = word;
    const live = this.live;
    ui.start.hidden = live;
    ui.end.hidden = !live;
    ui.mute.disabled = !live;
    ui.mode.disabled = live; // one mode per call
    ui.muted.hidden = !(live && this.muted);
    if (live) ui.cost.hidden = true;
    if (!timerRuns(word)) this.stopTimer();
    else if (!this.timer) this.#startTimer();
  }

  // "muted" stays beside the status word: the status word itself keeps to docs/api.md's words.
  setMuted(muted) {
    this.muted = muted;
    this.ui.mute.setAttribute("aria-pressed", String(muted));
    this.ui.mute.textContent = muted ? "Unmute" : "Mute";
    this.ui.muted.hidden = !(muted && this.live);
  }

  stopTimer() {
    clearInterval(this.timer);
    this.timer = null;
  }

  showProblem(message, { retry = true, legacy = false } = {}) {
    const { ui } = this;
    ui.error.textContent = message;
    ui.problem.hidden = false;
    ui.retry.hidden = !retry;
    ui.switchToLegacy.hidden = !legacy;
  }

  clearProblem() {
    this.ui.error.textContent = "";
    this.ui.problem.hidden = true;
  }

  showNotice(message) {
    this.ui.notice.textContent = message ?? "";
    this.ui.notice.hidden = !message;
  }

  // The page keeps room for the bar below the newest message, however tall the bar grows (a
  // wrapped row on a phone, Legacy's pickers, a notice); and the sidebar starts below the top
  // bar, however tall that is.
  keepClear(topbar) {
    const root = document.documentElement.style;
    const fit = () => {
      root.setProperty("--call-bar-space", `${Math.ceil(window.innerHeight - this.bar.getBoundingClientRect().top)}px`);
      root.setProperty("--topbar-space", `${Math.ceil(topbar.offsetHeight)}px`);
    };
    new ResizeObserver(fit).observe(this.bar);
    new ResizeObserver(fit).observe(topbar);
    window.addEventListener("resize", fit);
    fit();
  }

  #startTimer() {
    const began = Date.now();
    this.ui.elapsed.textContent = elapsedText(0);
    this.timer = setInterval(() => {
      this.ui.elapsed.textContent = elapsedText(Date.now() - began);
    }, 500);
  }
}
