// The API's addresses, by Django URL name ("call-end", "legacy-speech"): the server reverses
// them once into the page's "voice-urls" json_script (voice/views.py page_urls), so no module
// writes a path of its own. Routes that take an id come with a placeholder id in its place.
//
// Read on first use, not on import: modules that import this still load in node's tests,
// where there is no document.

// The pure part: a lookup over the server's table `{ placeholder, routes }`.
/** @typedef {(name: string, id?: string | number | null) => string} UrlLookup */

/** @param {{ placeholder: string, routes: Record<string, string> }} table @returns {UrlLookup} */
export function urlTable({ placeholder, routes }) {
  return (name, id) => {
    const template = routes[name];
    if (template === undefined) throw new Error(`The page was given no URL named "${name}".`);
    const takesId = template.includes(placeholder);
    if (takesId !== (id !== undefined && id !== null)) {
      throw new Error(`The URL "${name}" ${takesId ? "needs" : "takes no"} id.`);
    }
    return takesId ? template.replace(placeholder, encodeURIComponent(/** @type {string | number} */ (id))) : template;
  };
}

/** @type {UrlLookup | null} */
let pageTable = null;

// The address of the route `name`, with `id` in it for a route that takes one.
/** @param {string} name @param {string | number | null} [id] @returns {string} */
export function urlFor(name, id) {
  if (!pageTable) {
    const table = /** @type {HTMLScriptElement} */ (document.getElementById("voice-urls"));
    pageTable = urlTable(JSON.parse(table.textContent));
  }
  return pageTable(name, id);
}

// A WebSocket route's address on this page's host: ws, or wss under https.
/** @param {string} path @param {string | URL} pageUrl @returns {string} */
export function socketUrl(path, pageUrl) {
  const url = new URL(path, pageUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}
