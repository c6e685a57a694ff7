// Conversation order for transcript items: each item right after its previous_item_id, else
// by arrival. OpenAI transcribes the user asynchronously, so a user's words often arrive after
// the reply that follows them; the chain of previous ids puts them back first.
// The same rule as voice.selectors.messages_in_order on the server.

/** @typedef {{ item_id: string, previous_item_id?: string | null }} ChainedItem */

/** @template {ChainedItem} T @param {T[]} items @returns {T[]} */
export function orderItems(items) {
  const known = new Set(items.map((item) => item.item_id));
  /** @type {Map<string, T[]>} */
  const followers = new Map();
  /** @type {T[]} */
  const roots = [];
  for (const item of items) {
    const previous = item.previous_item_id;
    if (previous && known.has(previous) && previous !== item.item_id) {
      const chain = followers.get(previous) ?? [];
      followers.set(previous, chain);
      chain.push(item);
    } else {
      roots.push(item);
    }
  }
  /** @type {T[]} */
  const ordered = [];
  const placed = new Set();
  for (const start of [...roots, ...items]) {
    const stack = [start];
    while (stack.length) {
      const current = /** @type {T} */ (stack.pop());
      if (placed.has(current.item_id)) continue;
      placed.add(current.item_id);
      ordered.push(current);
      const next = followers.get(current.item_id) ?? [];
      for (let i = next.length - 1; i >= 0; i -= 1) stack.push(next[i]);
    }
  }
  return ordered;
}
