// Which conversation the page shows: its title, its messages at the latest turn, and the
// `?conversation=` of the address, so that a reload, a shared link or Back shows the same one and
// a new call continues it. A new conversation has no id until its first turn makes one.

import { api } from "../../js/api.js";
import { urlFor } from "../../js/urls.js";
import { firstTurnTitle, unheardTurnIds } from "./page_state.js";

export class ConversationView {
  constructor({ id, title, transcript }) {
    this.id = id || null;
    this.titleNode = title;
    this.titled = Boolean(id);
    this.transcript = transcript;
  }

  async open(id, { push = true } = {}) {
    const conversation = await api(urlFor("conversation-detail", id));
    this.id = id;
    this.#setTitle(conversation.title, Boolean(conversation.title));
    this.transcript.load(conversation.messages);
    this.#address(id, push);
  }

  clear({ push = true } = {}) {
    this.id = null;
    this.transcript.clear();
    this.#setTitle("", false);
    if (push) history.pushState({ conversation: null }, "", window.location.pathname);
  }

  // The conversation a call or a typed turn just made (or continued) is now the shown one.
  adopt(id) {
    if (!id || id === this.id) return false;
    this.id = id;
    this.#address(id, false);
    return true;
  }

  // For a typed turn outside a call: the shown conversation, made on the server when new.
  async ensure() {
    if (this.id) return this.id;
    const created = await api(urlFor("conversation-list"), { method: "POST", body: {} });
    this.adopt(created.id);
    return created.id;
  }

  // The shown conversation as saved (after a typed turn: the server's ids and texts).
  async reload() {
    if (!this.id) return;
    const conversation = await api(urlFor("conversation-detail", this.id));
    this.transcript.load(conversation.messages);
    if (!this.titled && conversation.title) this.#setTitle(conversation.title, true);
  }

  renamed(title) {
    this.#setTitle(title, true);
  }

  // A call's items: a new conversation is titled by its first whole user turn.
  follow(items) {
    if (this.titled) return;
    const title = firstTurnTitle(items);
    if (title) this.#setTitle(title, true);
  }

  // The call ended: turns it never heard the words of leave the page.
  dropUnheard(items) {
    this.transcript.remove(unheardTurnIds(items));
  }

  #setTitle(title, titled) {
    this.titled = titled;
    this.titleNode.textContent = title || (this.id ? "Untitled conversation" : "New conversation");
    document.title = title ? `${title} · Voice` : "Voice";
  }

  #address(id, push) {
    const url = new URL(window.location);
    url.searchParams.set("conversation", id);
    if (push) history.pushState({ conversation: id }, "", url);
    else history.replaceState({ conversation: id }, "", url);
  }
}
