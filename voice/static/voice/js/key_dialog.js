// The user's own OpenAI key, from the call page: shown masked, saved or removed. The key goes
// to the server once and is never shown again.

import { api } from "../../js/api.js";
import { urlFor } from "../../js/urls.js";

export function setUpKeyDialog(onChange) {
  const $ = (selector) => document.querySelector(selector);
  const ui = {
    dialog: $("#key-dialog"),
    input: $("#key-input"),
    status: $("#key-status"),
    error: $("#key-error"),
    remove: $("#key-remove"),
  };

  async function change(request) {
    ui.error.hidden = true;
    try {
      const key = await api(urlFor("voice-key"), request);
      ui.status.textContent = key.configured ? `Saved: ${key.masked}` : "No key saved.";
      ui.remove.hidden = !key.configured;
      ui.input.value = "";
      await onChange();
    } catch (error) {
      ui.error.textContent = error.message;
      ui.error.hidden = false;
    }
  }

  $("#key-open").addEventListener("click", () => ui.dialog.showModal());
  $("#key-cancel").addEventListener("click", () => ui.dialog.close());
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    change({ method: "PUT", body: { api_key: ui.input.value.trim() } });
  });
  ui.remove.addEventListener("click", () => change({ method: "DELETE" }));
}
