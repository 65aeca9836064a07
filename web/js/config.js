// Where the page talks to: the server's WebSocket and upload URLs, the API key and the target FPS.
const params = new URLSearchParams(location.search);

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * `?server=http://host:port` points the socket and the upload at another server. It is honoured
 * only when the page itself comes from a loopback address (development), so that a crafted link
 * to a deployed page cannot send someone's camera to a third party.
 */
function serverBase() {
  const server = params.get("server");
  if (server && LOOPBACK.has(location.hostname)) {
    try {
      const url = new URL(server, location.href);
      if (url.protocol === "http:" || url.protocol === "https:") {
        if (!url.pathname.endsWith("/")) url.pathname += "/";
        return url;
      }
    } catch {
      // Not a URL: use the page's own server.
    }
  }
  return new URL(".", location.href);
}

const base = serverBase();

/** The API key from `?key=`, or null. */
export const apiKey = params.get("key");

/** True when the page talks to a server other than its own. */
export const remoteServer = base.origin !== location.origin ? base.host : null;

/** Frames per second to send at most (`?fps=`, default 30). */
export const targetFps = Math.min(60, Math.max(1, Number(params.get("fps")) || 30));

/** The WebSocket URL: ws: or wss: as the page, with `?api_key=` when a key was given. */
export function socketUrl() {
  const url = new URL("ws", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (apiKey) url.searchParams.set("api_key", apiKey);
  return url.href;
}

/** An API URL on the server, e.g. apiUrl("api/detect/upload"). */
export function apiUrl(path) {
  return new URL(path, base).href;
}

/** Headers for REST calls (the API key, when one was given). */
export function apiHeaders() {
  return apiKey ? { "X-API-Key": apiKey } : {};
}
