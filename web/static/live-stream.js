// The feed's connection: one WebSocket on /ws/v1/funkos that resumes after every drop.
//
// The server sends each event after `after` once per connection, in position order, then
// CAUGHT_UP. So the last position seen is all a reconnect needs, and a frame at or below it
// (sent again by a proxy, say, or by an older resume point) is a repeat and is dropped.

const FIRST_DELAY = 250; // ms before the first retry, doubled for each one after, up to
const LONGEST_DELAY = 5000;

/** The change stream's address on this server: events after `after`, or from the first
 * created at or after `since` (an RFC 3339 time), or live only if both are null. */
export function streamUrl(after, since = null) {
  const url = new URL("/ws/v1/funkos", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null) url.searchParams.set("after", after);
  if (since !== null) url.searchParams.set("since", since);
  return url;
}

export class LiveStream {
  /** `position`: the last event already shown, or null to start with live events only.
   * `on`: onEvent(envelope), onCaughtUp(position), onState(state), onReset(stale, head). */
  constructor(position, on) {
    this.position = position;
    this.on = on;
    this.retries = 0;
    this.refused = false;
  }

  start() {
    this.#connect();
  }

  #connect() {
    this.on.onState(this.retries === 0 ? "connecting" : "reconnecting");
    // After a refused handshake, ask for live events only: their CAUGHT_UP names the log's head.
    const probing = this.refused && this.position !== null;
    const socket = new WebSocket(streamUrl(probing ? null : this.position));
    let opened = false;
    socket.onopen = () => { opened = true; };
    socket.onmessage = (message) => this.#receive(JSON.parse(message.data), socket, probing);
    socket.onclose = () => this.#retry(opened);
  }

  #receive(frame, socket, probing) {
    if (frame.type !== "CAUGHT_UP") {
      if (this.position === null || frame.position > this.position) {
        this.position = frame.position;
        this.on.onEvent(frame);
      }
      return;
    }
    if (probing && frame.position >= this.position) {
      // The refusal was passing (the server restarting, say): resume with `after` at once.
      socket.onclose = null;
      socket.close();
      this.refused = false;
      this.#connect();
      return;
    }
    if (probing) {
      // The log ends before what this page saw (a new database behind the same address):
      // `after` would be refused for ever, so follow this log from its head.
      this.on.onReset(this.position, frame.position);
      this.position = frame.position;
    }
    this.position = Math.max(this.position ?? 0, frame.position);
    this.retries = 0;
    this.on.onState("live");
    this.on.onCaughtUp(this.position);
  }

  #retry(opened) {
    this.refused = !opened;
    this.on.onState("reconnecting");
    const delay = Math.min(LONGEST_DELAY, FIRST_DELAY * 2 ** this.retries);
    this.retries += 1;
    setTimeout(() => this.#connect(), delay * (0.5 + Math.random() / 2)); // jitter: not all at once
  }
}
