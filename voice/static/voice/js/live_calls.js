// The user's live calls as the server reports them (this tab's and any other tab's), and which
// of them belongs to another tab: a second call is refused while one is live anywhere.

export const LIVE = ["connecting", "active"];

/** @typedef {{ id: string, status: string }} Call as GET /api/calls and call.status pushes give it */
/** @typedef {{ call: Call | null | undefined }} OwnClient one of this tab's call clients */

export class LiveCalls {
  constructor() {
    /** @type {Map<string, Call>} */
    this.calls = new Map(); // id -> <call>
  }

  // A call.status push or an answer of the API: kept while live, forgotten once over.
  /** @param {Call} call */
  track(call) {
    if (LIVE.includes(call.status)) this.calls.set(call.id, call);
    else this.calls.delete(call.id);
  }

  // GET /api/calls answered: the truth replaces what pushes may have missed.
  /** @param {Iterable<Call>} calls */
  replace(calls) {
    this.calls.clear();
    for (const call of calls) this.track(call);
  }

  /** @param {string} id @returns {Call | null} */
  get(id) {
    return this.calls.get(id) ?? null;
  }

  // A live call that is not one of this tab's own clients. While one of ours is still being
  // started (it has no call yet), any live call may be that one: none is counted as other.
  /** @param {Iterable<OwnClient>} ownClients @returns {Call | null} */
  other(ownClients) {
    const ours = [...ownClients];
    if (ours.some((client) => !client.call)) return null;
    const own = new Set(ours.map((client) => /** @type {Call} */ (client.call).id));
    return [...this.calls.values()].find((live) => !own.has(live.id)) ?? null;
  }
}
