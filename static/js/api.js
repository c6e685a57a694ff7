// The REST API from the page: session auth with the CSRF token, JSON in and out, and every
// failure as an ApiError carrying API.md's code and a message a user can act on.

export class ApiError extends Error {
  constructor(status, code, message, body = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    // 4xx other than 408/429 will not get better by retrying the same request.
    this.permanent = status >= 400 && status < 500 && ![408, 429].includes(status);
  }
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

export async function api(path, { method = "GET", body, keepalive = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      keepalive,
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server could not be reached. Check your connection and try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const { code = "server_error", message = `The server answered ${response.status}.` } = data.error ?? {};
    throw new ApiError(response.status, code, message, data);
  }
  return data;
}
