// The transcript on the page: server-rendered history plus live items, in conversation order,
// keyed by item_id so a streaming item updates in place. Text only ever via textContent.

import { orderItems } from "./transcript_order.js";

export class TranscriptView {
  constructor(list) {
    this.list = list;
    this.items = new Map();
    for (const node of list.querySelectorAll("[data-item-id]")) {
      this.items.set(node.dataset.itemId, {
        item_id: node.dataset.itemId,
        role: node.dataset.role,
        text: node.querySelector(".text")?.textContent ?? "",
        interrupted: node.dataset.interrupted === "true",
        previous_item_id: node.dataset.previousItemId || null,
        node,
      });
    }
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
    const node = item.node ?? document.createElement("li");
    node.className = `bubble ${item.role}${item.pending ? " pending" : ""}`;
    node.dataset.role = item.role;
    node.dataset.itemId = item.item_id;
    if (item.interrupted) node.dataset.interrupted = "true";
    else delete node.dataset.interrupted;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = item.role === "user" ? "You:" : "Assistant:";
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
    return node;
  }

  #emptyState() {
    const empty = document.createElement("li");
    empty.className = "empty-state";
    empty.textContent = "Press the call button and start talking.";
    return empty;
  }
}
