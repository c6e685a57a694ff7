// The transcript on the page: server-rendered history plus live items, in conversation order,
// keyed by item_id so a streaming item updates in place. Text only ever via textContent.

import { orderItems } from "./transcript_order.js";

export class TranscriptView {
  // `decorate(node, item)` adds controls to a drawn item (the page's "read aloud").
  constructor(list, { decorate = () => {} } = {}) {
    this.list = list;
    this.decorate = decorate;
    this.items = new Map();
    for (const node of list.querySelectorAll("[data-item-id]")) {
      this.items.set(node.dataset.itemId, {
        item_id: node.dataset.itemId,
        role: node.dataset.role,
        text: node.querySelector(".text")?.textContent ?? "",
        interrupted: node.dataset.interrupted === "true",
        previous_item_id: node.dataset.previousItemId || null,
        source: node.dataset.source || null,
        node,
      });
      this.decorate(node, this.items.get(node.dataset.itemId));
    }
  }

  // Another conversation's messages (or this one's, as saved) in place of what is shown.
  load(items) {
    this.items.clear();
    this.list.replaceChildren();
    if (!items.length) {
      this.list.append(this.#emptyState());
      return;
    }
    this.update(items);
    this.scrollToEnd();
  }

  // Drop items that will never get words (a turn still being heard when the call ended).
  remove(itemIds) {
    for (const id of itemIds) {
      this.items.get(id)?.node?.remove();
      this.items.delete(id);
    }
  }

  // The id of the item shown last, in conversation order (a typed turn follows it).
  lastItemId() {
    return orderItems([...this.items.values()]).at(-1)?.item_id ?? null;
  }

  scrollToEnd() {
    window.scrollTo({ top: document.body.scrollHeight });
  }

  clear() {
    this.items.clear();
    this.list.replaceChildren(this.#emptyState());
  }

  // items: [{ item_id, role, heard, unheard, interrupted, previous_item_id, pending }]
  update(items) {
    for (const item of items) {
      const known = this.items.get(item.item_id);
      this.items.set(item.item_id, { ...known, ...item, node: known?.node });
    }
    const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
    const ordered = orderItems([...this.items.values()].filter((i) => i.heard !== undefined || i.text));
    this.list.querySelector(".empty-state")?.remove();
    let previousNode = null;
    for (const item of ordered) {
      item.node = this.#render(item);
      const expected = previousNode ? previousNode.nextSibling : this.list.firstChild;
      if (item.node !== expected) this.list.insertBefore(item.node, expected);
      previousNode = item.node;
    }
    if (nearBottom) window.scrollTo({ top: document.body.scrollHeight });
  }

  #render(item) {
    if (item.role === "tool") return this.#renderToolLine(item);
    const node = item.node ?? document.createElement("li");
    node.className = `bubble ${item.role}${item.pending ? " pending" : ""}`;
    node.dataset.role = item.role;
    node.dataset.itemId = item.item_id;
    if (item.interrupted) node.dataset.interrupted = "true";
    else delete node.dataset.interrupted;
    if (item.source) node.dataset.source = item.source;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = item.role === "user" ? (item.source === "text" ? "You (typed):" : "You:") : "Assistant:";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = item.heard ?? item.text ?? "";
    const parts = [who, text];
    if (item.unheard) {
      const unheard = document.createElement("span");
      unheard.className = "unheard";
      unheard.title = "Not heard: the reply was interrupted here";
      unheard.textContent = item.unheard;
      parts.push(unheard);
    }
    if (item.interrupted) {
      const mark = document.createElement("span");
      mark.className = "cut-mark";
      mark.textContent = "interrupted";
      parts.push(mark);
    }
    node.replaceChildren(...parts);
    node.setAttribute("data-testid", "transcript-item");
    this.decorate(node, item);
    return node;
  }

  // A tool call is a small line saying what the assistant did ("Searched your conversations
  // for 'lease'"), not a bubble; its own testid keeps transcript-item for what was said.
  #renderToolLine(item) {
    const node = item.node ?? document.createElement("li");
    node.className = "tool-line";
    node.dataset.role = "tool";
    node.dataset.itemId = item.item_id;
    if (item.tool) node.dataset.ok = String(item.tool.ok !== false); // else as rendered
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = item.heard ?? item.text ?? "";
    node.replaceChildren(text);
    node.setAttribute("data-testid", "transcript-tool");
    return node;
  }

  #emptyState() {
    const empty = document.createElement("li");
    empty.className = "empty-state";
    empty.textContent = "Press the call button and start talking, or type below.";
    return empty;
  }
}
