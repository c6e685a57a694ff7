// The conversation list on the page: a sidebar on wide screens, a drawer on phones. It draws
// the pure state of conversation_list.js and owns its controls: the search box, loading the
// next page as the list scrolls, rename in place, delete after asking, the export menu.
// Emits "open" (detail: a conversation id) and "deleted" (detail: an id).

import { api } from "../../js/api.js";
import { urlFor } from "../../js/urls.js";
import {
  canLoadMore,
  cleanTitle,
  debounced,
  displayTitle,
  initialList,
  lastActivity,
  listRequested,
  listUrl,
  moreRequested,
  pageFailed,
  pageLoaded,
  removed,
  renamed,
  SEARCH_DEBOUNCE_MS,
  touched,
} from "./conversation_list.js";

const ICONS = {
  rename: "M3 17.2V21h3.8l11-11-3.8-3.8zM20.7 7a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8L19 8.8z",
  export: "M12 16l-5-5h3V4h4v7h3zm-7 2h14v2H5z",
  delete: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6zM19 4h-3.5l-1-1h-5l-1 1H5v2h14z",
};

export class ConversationSidebar extends EventTarget {
  constructor({ root, backdrop, opener, deleteDialog }) {
    super();
    this.root = root;
    this.backdrop = backdrop;
    this.opener = opener;
    this.dialog = deleteDialog;
    this.list = root.querySelector("[data-testid=conversation-list]");
    this.status = root.querySelector("#conversation-list-status");
    this.search = root.querySelector("[data-testid=conversation-search]");
    this.state = initialList();
    this.currentId = null;
    this.#wire();
  }

  // Whether the list shows this conversation with a title of its own (an unknown one: no).
  titled(id) {
    return Boolean(this.state.items.find((item) => item.id === id)?.title);
  }

  setCurrent(id) {
    this.currentId = id;
    for (const row of this.list.children) row.setAttribute("aria-current", String(row.dataset.conversationId === id));
  }

  // The first page again (a search, or after a change the server orders).
  async reload() {
    this.state = listRequested(this.state, { query: this.search.value });
    this.#render();
    await this.#fetch(listUrl(urlFor("conversation-list"), this.state.query), this.state.generation);
  }

  async loadMore() {
    if (!canLoadMore(this.state)) return;
    const { next, generation } = this.state;
    this.state = moreRequested(this.state);
    await this.#fetch(next, generation);
  }

  // A conversation had a turn or a call: shown at the top with what the server now says, and
  // what the page knows besides (`known`, e.g. that it now had a call: the detail omits it).
  async refresh(id, known = {}) {
    try {
      const conversation = await api(`${urlFor("conversation-detail", id)}?limit=1`);
      const { messages, ...row } = conversation; // the row's fields; the rest are kept
      this.state = touched(this.state, { ...row, ...known });
      this.#render();
    } catch {
      // the next reload shows it
    }
  }

  openDrawer() {
    this.root.classList.add("open");
    this.backdrop.hidden = false;
    this.opener.setAttribute("aria-expanded", "true");
    this.search.focus();
  }

  closeDrawer() {
    if (!this.root.classList.contains("open")) return;
    this.root.classList.remove("open");
    this.backdrop.hidden = true;
    this.opener.setAttribute("aria-expanded", "false");
  }

  async #fetch(url, generation) {
    try {
      const page = await api(url);
      this.state = pageLoaded(this.state, { generation, page });
    } catch (error) {
      this.state = pageFailed(this.state, { generation, message: error.message });
    }
    this.#render();
    this.#fillScreen();
  }

  // Infinite scroll: a list shorter than its box loads more at once, since it cannot scroll.
  #fillScreen() {
    if (this.list.scrollHeight <= this.list.clientHeight + 40) this.loadMore();
  }

  #wire() {
    const search = debounced(() => this.reload(), SEARCH_DEBOUNCE_MS);
    this.search.addEventListener("input", search);
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        search.cancel();
        this.reload();
      }
    });
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 80) this.loadMore();
    });
    this.list.addEventListener("click", (event) => this.#onClick(event));
    this.opener.addEventListener("click", () => this.openDrawer());
    this.root.querySelector("#drawer-close").addEventListener("click", () => this.closeDrawer());
    this.backdrop.addEventListener("click", () => this.closeDrawer());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.#closeMenus();
        this.closeDrawer();
      }
    });
    document.addEventListener("click", (event) => {
      if (!event.target.closest?.(".row-export")) this.#closeMenus();
    });
  }

  #onClick(event) {
    const row = event.target.closest(".conversation-row");
    if (!row) return;
    const id = row.dataset.conversationId;
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (event.target.closest(".export-menu a")) {
      this.#closeMenus(); // the download goes ahead; the menu has done its job
    } else if (event.target.closest("[data-testid=conversation-link]")) {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button === 1) return; // a new tab
      event.preventDefault();
      this.dispatchEvent(new CustomEvent("open", { detail: id }));
    } else if (action === "rename") {
      this.#startRename(row);
    } else if (action === "delete") {
      this.#confirmDelete(id);
    } else if (action === "export") {
      const menu = row.querySelector(".export-menu");
      const opening = menu.hidden;
      this.#closeMenus();
      menu.hidden = !opening;
      row.querySelector("[data-testid=conversation-export]").setAttribute("aria-expanded", String(opening));
      if (opening) menu.querySelector("a").focus();
    }
  }

  #closeMenus() {
    for (const menu of this.list.querySelectorAll(".export-menu")) menu.hidden = true;
    for (const button of this.list.querySelectorAll("[data-testid=conversation-export]")) {
      button.setAttribute("aria-expanded", "false");
    }
  }

  // --- rename in place ------------------------------------------------------------------------

  #startRename(row) {
    const id = row.dataset.conversationId;
    const conversation = this.state.items.find((item) => item.id === id);
    const link = row.querySelector("[data-testid=conversation-link]");
    const input = document.createElement("input");
    input.className = "rename-input";
    input.value = conversation?.title ?? "";
    input.maxLength = 200;
    input.setAttribute("aria-label", "New title");
    link.hidden = true;
    row.insertBefore(input, link);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      input.remove(); // first: the row is drawn afresh with the new title
      link.hidden = false;
      if (save) await this.#rename(id, input.value);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") {
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
  }

  async #rename(id, text) {
    const { title, error } = cleanTitle(text);
    if (error) return this.#say(error);
    const current = this.state.items.find((item) => item.id === id);
    if (current?.title === title) return;
    try {
      const saved = await api(urlFor("conversation-detail", id), { method: "PATCH", body: { title } });
      this.state = renamed(this.state, { id, title: saved.title ?? title });
      this.#render();
      this.dispatchEvent(new CustomEvent("renamed", { detail: { id, title: saved.title ?? title } }));
    } catch (failure) {
      this.#say(`The title was not saved: ${failure.message}`);
    }
  }

  // --- delete, asking first ------------------------------------------------------------------

  #confirmDelete(id) {
    const conversation = this.state.items.find((item) => item.id === id);
    const error = this.dialog.querySelector("#delete-error");
    const confirm = this.dialog.querySelector("#delete-confirm");
    this.dialog.querySelector("#delete-what").textContent = conversation ? displayTitle(conversation) : "";
    error.hidden = true;
    confirm.disabled = false;
    confirm.onclick = async () => {
      confirm.disabled = true;
      try {
        await api(urlFor("conversation-detail", id), { method: "DELETE" });
      } catch (failure) {
        // A conversation with a live call is kept (409 call_active): say so, in the dialog.
        error.textContent =
          failure.code === "call_active"
            ? "This conversation has a call going on. End the call first, then delete it."
            : failure.message;
        error.hidden = false;
        return;
      }
      this.dialog.close();
      this.state = removed(this.state, id);
      this.#render();
      this.dispatchEvent(new CustomEvent("deleted", { detail: id }));
    };
    this.dialog.showModal();
  }

  #say(message) {
    this.status.textContent = message;
  }

  // --- drawing --------------------------------------------------------------------------------

  #render() {
    const rows = new Map([...this.list.children].map((row) => [row.dataset.conversationId, row]));
    const wanted = this.state.items.map((item) => this.#row(item, rows.get(item.id)));
    this.list.replaceChildren(...wanted);
    this.list.setAttribute("aria-busy", String(this.state.loading));
    let message = this.state.error ?? "";
    if (!message && this.state.loaded && !this.state.items.length) {
      message = this.state.query ? "No conversation matches every word." : "No conversations yet.";
    } else if (!message && this.state.loading) {
      message = "Loading…";
    }
    this.#say(message);
  }

  // A row is kept (and so keeps focus and an open menu) while its content has not changed.
  #row(item, existing) {
    const key = JSON.stringify([item.title, item.updated_at, item.has_calls, item.snippet, item.id === this.currentId]);
    if (existing && (existing.dataset.key === key || existing.querySelector(".rename-input"))) return existing;
    const row = document.createElement("li");
    row.className = "conversation-row";
    row.dataset.conversationId = item.id;
    row.dataset.key = key;
    row.setAttribute("aria-current", String(item.id === this.currentId));
    row.append(this.#link(item), this.#actions(item));
    // A row redrawn with news (a turn just saved) keeps an export menu the user has open.
    if (existing && !existing.querySelector(".export-menu").hidden) {
      row.querySelector(".export-menu").hidden = false;
      row.querySelector("[data-testid=conversation-export]").setAttribute("aria-expanded", "true");
    }
    return row;
  }

  #link(item) {
    const link = document.createElement("a");
    link.className = "conversation-link";
    link.href = `?conversation=${encodeURIComponent(item.id)}`;
    link.setAttribute("data-testid", "conversation-link");
    link.dataset.conversationId = item.id;
    const title = span("row-title", displayTitle(item));
    const meta = span("row-meta", lastActivity(item.updated_at));
    meta.title = new Date(item.updated_at).toLocaleString();
    if (item.has_calls) {
      const mark = span("had-calls", "");
      mark.setAttribute("role", "img");
      mark.setAttribute("aria-label", "had voice calls");
      mark.title = "Had voice calls";
      meta.append(mark);
    }
    link.append(title);
    if (item.snippet) link.append(span("row-snippet", item.snippet));
    link.append(meta); // last: the row's actions sit at its right
    return link;
  }

  #actions(item) {
    const name = displayTitle(item);
    const actions = document.createElement("div");
    actions.className = "row-actions";
    const exportWrap = document.createElement("div");
    exportWrap.className = "row-export";
    const exportButton = iconButton("export", `Export ${name}`, "conversation-export");
    exportButton.setAttribute("aria-haspopup", "menu");
    exportButton.setAttribute("aria-expanded", "false");
    const menu = document.createElement("div");
    menu.className = "export-menu";
    menu.setAttribute("role", "menu");
    menu.hidden = true;
    for (const [format, label] of [
      ["md", "Markdown (.md)"],
      ["json", "JSON (.json)"],
    ]) {
      const link = document.createElement("a");
      link.href = `${urlFor("conversation-export", item.id)}?format=${format}`;
      link.setAttribute("download", "");
      link.setAttribute("role", "menuitem");
      link.dataset.format = format;
      link.textContent = label;
      menu.append(link);
    }
    exportWrap.append(exportButton, menu);
    actions.append(
      iconButton("rename", `Rename ${name}`, "conversation-rename"),
      exportWrap,
      iconButton("delete", `Delete ${name}`, "conversation-delete"),
    );
    return actions;
  }
}

function span(className, text) {
  const node = document.createElement("span");
  node.className = className;
  node.textContent = text;
  return node;
}

function iconButton(action, label, testid) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "icon-button";
  button.dataset.action = action;
  button.setAttribute("data-testid", testid);
  button.setAttribute("aria-label", label);
  button.title = label;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[action]);
  svg.append(path);
  button.append(svg);
  return button;
}
