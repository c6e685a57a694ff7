// The typed input: text instead of speech, in and out of calls (typed_turns.js holds the pure
// parts). Outside a call the text goes to POST /api/conversations/<id>/messages, which saves
// both turns and streams the reply back as text; during a call the call client takes it
// (Realtime over its data channel, Legacy as a turn). Replies can be read aloud.
//
// Read aloud uses the browser's speechSynthesis, not the server's /api/legacy/speech: that
// endpoint speaks only for a live Legacy call (so the server's key is no general text-to-speech
// service), and a reply read outside a call has none.

import { apiFetch } from "../../js/api.js";
import { serverEvents } from "../../js/server_events.js";
import { urlFor } from "../../js/urls.js";
import {
  cleanMessage,
  readAloudText,
  textTurnEnded,
  textTurnEvent,
  textTurnStart,
  typedItemId,
  typedRoute,
} from "./typed_turns.js";

const SPEAKER =
  "M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z";

export class TypedInput extends EventTarget {
  // `page` gives what the input needs from the call page: the live call client, the
  // conversation (made when there is none), the transcript, and where to say things.
  constructor({ form, page }) {
    super();
    this.form = form;
    this.input = form.querySelector("[data-testid=message-input]");
    this.send = form.querySelector("[data-testid=message-send]");
    this.page = page;
    this.sending = false; // a text reply is streaming in: one at a time
    this.#wire();
  }

  #wire() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.#fit());
    this.send.disabled = false; // rendered disabled: before now a click would reload the page
  }

  // The textarea grows with its text, up to its CSS max-height.
  #fit() {
    this.input.style.height = "auto";
    this.input.style.height = `${this.input.scrollHeight}px`;
  }

  async submit() {
    const { text, error } = cleanMessage(this.input.value);
    if (error) return this.page.notify(error);
    if (this.sending) return this.page.notify("Wait for the reply to finish first.");
    const call = this.page.call();
    const route = typedRoute(call);
    if (route === "wait") return this.page.notify("The call is still connecting: send it in a moment.");
    this.input.value = "";
    this.#fit();
    if (route === "conversation") return this.#sendOutsideCall(text);
    try {
      call.sendText(text);
    } catch (failure) {
      this.input.value = text; // not sent: kept to try again
      this.page.notify(failure.message);
    }
  }

  async #sendOutsideCall(text) {
    this.sending = true;
    this.send.disabled = true;
    const view = this.page.transcript;
    let turn = textTurnStart({ text, userItemId: typedItemId(), replyItemId: typedItemId() });
    turn.user.previous_item_id = view.lastItemId();
    // Drawn only while its conversation is the one shown (another may be opened meanwhile; the
    // reply still streams to its end and is saved).
    const show = () => {
      if (this.page.shownId() === conversationId) view.update([turn.user, { ...turn.reply, heard: turn.reply.text }]);
    };
    let conversationId = null;
    let accepted = false; // the server took the turn: from here it saves what it streams
    try {
      conversationId = await this.page.conversationForText();
      show();
      const response = await apiFetch(urlFor("conversation-message-create", conversationId), {
        method: "POST",
        body: { text },
      });
      accepted = true;
      for await (const event of serverEvents(response.body)) {
        turn = textTurnEvent(turn, event);
        show();
      }
      turn = textTurnEnded(turn);
    } catch (failure) {
      turn = { ...turn, status: "error", error: failure.message };
      if (!accepted) this.input.value = text; // refused or never sent: kept to try again
    } finally {
      this.sending = false;
      this.send.disabled = false;
    }
    if (turn.error) this.page.notify(turn.error);
    // What the server saved replaces what was drawn (its item ids, the reply as saved).
    if (conversationId) this.dispatchEvent(new CustomEvent("saved", { detail: conversationId }));
  }
}

// A "read aloud" button on each assistant reply, outside calls (in a call the reply is heard).
export function readAloudButton(node, item) {
  if (item.role !== "assistant" || node.querySelector(".read-aloud") || !window.speechSynthesis) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "icon-button read-aloud";
  button.setAttribute("aria-label", "Read aloud");
  button.setAttribute("aria-pressed", "false");
  button.title = "Read aloud";
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", SPEAKER);
  svg.append(path);
  button.append(svg);
  node.append(button);
}

// One reply read at a time; pressing again (or another reply's button) stops it.
export function wireReadAloud(list, { inCall }) {
  let speaking = null;
  const stop = () => {
    speechSynthesis.cancel();
    speaking?.setAttribute("aria-pressed", "false");
    speaking = null;
  };
  list.addEventListener("click", (event) => {
    const button = event.target.closest(".read-aloud");
    if (!button) return;
    const again = speaking === button;
    stop();
    if (again || inCall()) return;
    const text = readAloudText(button.closest(".bubble").querySelector(".text")?.textContent ?? "");
    if (!text) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.onend = utterance.onerror = () => {
      if (speaking === button) stop();
    };
    speaking = button;
    button.setAttribute("aria-pressed", "true");
    speechSynthesis.speak(utterance);
  });
  return stop;
}
