// The user's status socket (the route "voice-status"): call.status and call.transcript pushed
// by the server for every call of this user, from any tab or server process. Reconnects with
// backoff; a refusal for authentication (4401) stops it, since retrying cannot help.

import { socketUrl, urlFor } from "./urls.js";

const CLOSE_NOT_AUTHENTICATED = 4401;

export class StatusSocket extends EventTarget {
  constructor(url = socketUrl(urlFor("voice-status"), location.href)) {
    super();
    this.url = url;
    this.attempt = 0;
    this.stopped = false;
    this.connect();
  }

  connect() {
    const socket = (this.socket = new WebSocket(this.url));
    socket.onopen = () => {
      this.attempt = 0;
      this.dispatchEvent(new Event("open")); // listeners re-read state they may have missed
    };
    socket.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      this.dispatchEvent(new CustomEvent(event.type, { detail: event }));
    };
    socket.onclose = (event) => {
      if (this.stopped || event.code === CLOSE_NOT_AUTHENTICATED) return;
      this.attempt += 1;
      const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
      setTimeout(() => this.connect(), delay);
    };
  }

  close() {
    this.stopped = true;
    this.socket?.close();
  }
}
