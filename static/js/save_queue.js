// Items on their way to the server (transcript items; a Legacy turn): batched, retried with
// backoff, never lost to a network blip. The transport and the clock are injected so tests
// can drive them; `onRetry(error, delayMs)` is told of each retry, so it can be shown.

// The server takes at most 50 items per request (voice/limits.py): larger batches are split.
export const MAX_BATCH_ITEMS = 50;

/** @template T @param {T[]} items @param {number} [size] @returns {T[][]} */
export function batches(items, size = MAX_BATCH_ITEMS) {
  /** @type {T[][]} */
  const out = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/** @typedef {{ item_id: string }} QueuedItem a transcript item or a Legacy turn: the id keys its newest version */

/** @template {QueuedItem} T */
export class SaveQueue {
  /**
   * @param {{
   *   send: (items: T[]) => Promise<unknown>,
   *   sleep?: (ms: number) => Promise<unknown>,
   *   maxDelayMs?: number,
   *   onRetry?: (error: unknown, delayMs: number) => void,
   * }} options
   */
  constructor({ send, sleep = (ms) => new Promise((r) => setTimeout(r, ms)), maxDelayMs = 10000, onRetry = () => {} }) {
    this.send = send; // async (items) => void; throws on failure
    this.sleep = sleep;
    this.maxDelayMs = maxDelayMs;
    this.onRetry = onRetry;
    /** @type {Map<string, T>} */
    this.pending = new Map(); // item_id -> item: a newer version replaces an unsent older one
    /** @type {Promise<void> | null} */
    this.running = null;
    this.failures = 0;
  }

  /** @param {T} item @returns {Promise<void>} */
  push(item) {
    this.pending.set(item.item_id, { ...item });
    if (!this.running)
      this.running = this.drain().finally(() => {
        this.running = null;
      });
    return this.running;
  }

  get size() {
    return this.pending.size;
  }

  async drain() {
    while (this.pending.size) {
      const [batch] = batches([...this.pending.values()]);
      try {
        await this.send(batch);
        for (const item of batch) {
          if (this.pending.get(item.item_id) === item) this.pending.delete(item.item_id);
        }
        this.failures = 0;
      } catch (error) {
        if (/** @type {{ permanent?: boolean } | null} */ (error)?.permanent) {
          for (const item of batch) this.pending.delete(item.item_id); // retrying cannot help
          throw error;
        }
        this.failures += 1;
        const delayMs = Math.min(this.maxDelayMs, 250 * 2 ** this.failures);
        this.onRetry(error, delayMs);
        await this.sleep(delayMs);
      }
    }
  }

  // Resolves once everything queued so far is saved (or dropped as permanently refused).
  async flush() {
    while (this.running) {
      try {
        await this.running;
      } catch {
        // a permanent failure was reported when it happened
      }
    }
  }
}
