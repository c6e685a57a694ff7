// Server-sent events read from a fetch body (EventSource cannot POST): the reply streams of
// /api/legacy/replies and /api/conversations/<id>/messages. The parser is pure so node can test
// how it joins events split across network chunks.

/** @typedef {[name: string, data: unknown]} ServerEvent data: the server's JSON, shaped by each stream's own events */

export class EventStreamParser {
  constructor() {
    this.buffer = "";
  }

  // Feed a chunk of text; returns the events it completed, as [name, parsed data] pairs.
  /** @param {string} chunk @returns {ServerEvent[]} */
  push(chunk) {
    this.buffer += chunk.replaceAll("\r\n", "\n");
    /** @type {ServerEvent[]} */
    const events = [];
    let split;
    while ((split = this.buffer.indexOf("\n\n")) !== -1) {
      const block = this.buffer.slice(0, split);
      this.buffer = this.buffer.slice(split + 2);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }
}

// One event block: `event:` names it (default "message"), `data:` lines join with newlines,
// comment lines (":") and unknown fields are ignored, as the EventSource spec says.
/** @param {string} block @returns {ServerEvent | null} */
function parseBlock(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return [name, JSON.parse(data.join("\n"))];
  } catch {
    return null; // not an event of ours
  }
}

/** @param {ReadableStream<Uint8Array<ArrayBuffer>>} body @returns {AsyncGenerator<ServerEvent>} */
export async function* serverEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield* parser.push(value);
  }
}
