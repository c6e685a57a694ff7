// The REST API from the page: session auth with the CSRF token, and every failure as an
// ApiError carrying docs/api.md's code and a message a user can act on.

export class ApiError extends Error {
  constructor(status, code, message, body = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    // 4xx other than 408/429 will not get better by retrying the same request; nor will a
    // key that OpenAI rejected (a 502 of ours).
    this.permanent = (status >= 400 && status < 500 && ![408, 429].includes(status)) || code === "upstream_auth_failed";
  }
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// The raw response of a successful request (for streams and audio); `body` is sent as JSON,
// `form` as multipart.
export async function apiFetch(path, { method = "GET", body, form, keepalive = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
      credentials: "same-origin",
      keepalive,
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server could not be reached. Check your connection and try again.");
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    const { code = "server_error", message = `The server answered ${response.status}.` } = data.error ?? {};
    throw new ApiError(response.status, code, message, data);
  }
  return response;
}

export async function api(path, options = {}) {
  const response = await apiFetch(path, options);
  return response.json().catch(() => ({}));
}
