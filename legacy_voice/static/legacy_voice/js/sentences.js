// Cuts a streaming reply into sentences to speak while the rest still streams. Code blocks
// are not spoken; abbreviations, initials and numbers do not end a sentence.

const ABBREVIATIONS = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "vs",
  "etc",
  "e.g",
  "i.e",
  "approx",
  "no",
  "fig",
  "inc",
  "ltd",
  "co",
  "mt",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
]);

export class SentenceSplitter {
  constructor() {
    this.buffer = "";
    this.inCode = false;
  }

  // Returns the sentences completed by this piece of text.
  /** @param {string} delta @returns {string[]} */
  push(delta) {
    this.buffer += delta;
    /** @type {string[]} */
    const sentences = [];
    for (;;) {
      if (this.inCode) {
        const close = this.buffer.indexOf("```");
        if (close === -1) return sentences;
        this.buffer = this.buffer.slice(close + 3);
        this.inCode = false;
        continue;
      }
      const fence = this.buffer.indexOf("```");
      const end = sentenceEnd(fence === -1 ? this.buffer : this.buffer.slice(0, fence));
      if (end !== -1) {
        pushSpoken(sentences, this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end);
      } else if (fence !== -1) {
        pushSpoken(sentences, this.buffer.slice(0, fence));
        this.buffer = this.buffer.slice(fence + 3);
        this.inCode = true;
      } else {
        return sentences;
      }
    }
  }

  // The rest, once the reply is complete.
  /** @returns {string[]} */
  flush() {
    /** @type {string[]} */
    const sentences = [];
    if (!this.inCode) pushSpoken(sentences, this.buffer); // at most one sentence is left
    this.buffer = "";
    this.inCode = false;
    return sentences;
  }
}

// Index just past the first complete sentence in text, or -1.
/** @param {string} text @returns {number} */
function sentenceEnd(text) {
  const boundary = /([.!?…]+["')\]]*)(\s+)|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)/g;
  for (const match of text.matchAll(boundary)) {
    const end = match.index + match[0].length;
    if (match[1]) {
      if (end >= text.length) return -1; // the next word decides: wait for it
      if (/\p{Ll}/u.test(text[end])) continue; // "5 p.m. on Main St." goes on in lowercase
      if (!endsSentence(text.slice(0, match.index + match[1].length))) continue;
    }
    return end;
  }
  return -1;
}

/** @param {string} upToMark */
function endsSentence(upToMark) {
  const word = upToMark.match(/([\p{L}.]+)[.]$/u)?.[1]?.toLowerCase();
  if (!word) return true;
  if (ABBREVIATIONS.has(word) || ABBREVIATIONS.has(word.replace(/\.$/, ""))) return false;
  return !/^\p{L}$/u.test(word); // a single letter is an initial: "J. R. R. Tolkien"
}

/** @param {string[]} sentences @param {string} text */
function pushSpoken(sentences, text) {
  const spoken = speakable(text);
  if (/[\p{L}\p{N}]/u.test(spoken)) sentences.push(spoken);
}

// Markdown is for reading, not for saying.
/** @param {string} text @returns {string} */
export function speakable(text) {
  return text
    .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)/gm, "")
    .replace(/(\*\*|__|\*|_|~~|`)/g, "")
    .replace(/\s+/g, " ")
    .trim();
}
