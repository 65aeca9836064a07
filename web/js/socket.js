// The /ws connection: connect, route messages, reconnect with exponential backoff and jitter.
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const PING_EVERY_MS = 20_000;

export class EmotionSocket {
  /**
   * @param {() => string} url the WebSocket URL (asked again on every connect)
   * @param {{onState?: Function, onMessage?: Function, onOpen?: Function, onClose?: Function}} handlers
   */
  constructor(url, handlers = {}) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.state = "closed";
    this.attempt = 0;
    this.retryAt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.lastSent = 0;
    this.stopped = false;
    this.closeInfo = null;
    // Works in a page and in a worker (which has online events but no page lifecycle).
    globalThis.addEventListener?.("online", () => {
      if (this.state === "reconnecting") this.connectNow();
    });
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  setState(state) {
    this.state = state;
    this.handlers.onState?.(state, this);
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (error) {
      this.closeInfo = { code: 0, reason: error.message };
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.closeInfo = null;
      this.setState("open");
      this.handlers.onOpen?.(this);
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => {
        if (performance.now() - this.lastSent > PING_EVERY_MS / 2) this.send({ type: "ping" });
      }, PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws || typeof event.data !== "string") return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handlers.onMessage?.(message, this);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      this.closeInfo = { code: event.code, reason: event.reason };
      this.handlers.onClose?.(event, this);
      if (this.stopped) {
        this.setState("closed");
      } else {
        this.scheduleReconnect();
      }
    };
    // An error is always followed by close, which reconnects.
    ws.onerror = () => {};
  }

  scheduleReconnect() {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.retryAt = performance.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.setState("reconnecting");
  }

  /** Milliseconds until the next reconnect attempt (while reconnecting). */
  msToRetry() {
    return Math.max(0, this.retryAt - performance.now());
  }

  /** Skips the wait and reconnects at once. */
  connectNow() {
    if (this.ws) return;
    this.connect();
  }

  /** Sends a JSON message; false when the socket is not open. */
  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    this.lastSent = performance.now();
    return true;
  }

  /** Closes for good (until connect() is called again). */
  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      this.ws.close(1000, "page closed");
    } else {
      this.setState("closed");
    }
  }
}
