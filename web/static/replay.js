// Replay: the log from a chosen position, or a date and time, on, oldest first, on a WebSocket
// of its own.

import { entryOf, eventRow } from "./feed.js";
import { streamUrl } from "./live-stream.js";

const LIMIT = 200; // events shown before "Show more" is offered

export class Replay {
  /** The replay controls in `section`; `newest()` is the last position the live feed knows. */
  constructor(section, newest) {
    this.newest = newest;
    this.list = section.querySelector(".feed");
    this.summary = section.querySelector(".summary");
    this.more = section.querySelector("[name=more]");
    const form = section.querySelector("form");
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      this.list.replaceChildren();
      const since = form.elements.since.value; // local time, as the browser shows it
      if (since) {
        const when = new Date(since);
        this.from = when.toLocaleString();
        this.#replay(this.from, null, when.toISOString());
      } else if (form.elements.from.value) {
        this.from = `#${form.elements.from.value}`;
        this.#replay(this.from, Number(form.elements.from.value));
      } else {
        this.summary.textContent = "Give a position or a date and time to replay from.";
      }
    });
    // One start or the other: typing in one field clears the other.
    form.elements.since.addEventListener("input", () => (form.elements.from.value = ""));
    form.elements.from.addEventListener("input", () => (form.elements.since.value = ""));
    this.more.addEventListener("click", () => this.#replay(`#${this.last + 1}`, this.last + 1));
  }

  /** Append the events from position `from`, or from the first created at or after `since`,
   * on: up to the newest, or LIMIT of them. `label` names where it starts. */
  #replay(label, from, since = null) {
    this.socket?.close();
    this.more.hidden = true;
    const newest = this.newest();
    if (since === null && newest !== null && from - 1 > newest) {
      this.summary.textContent = `Nothing from ${label} yet: the newest event is #${newest}.`;
      return;
    }
    const url = since === null ? streamUrl(from - 1) : streamUrl(null, since);
    const socket = (this.socket = new WebSocket(url));
    let shown = 0;
    this.summary.textContent = `Replaying from ${label}…`;
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "CAUGHT_UP") {
        this.#stop(`${this.#count()} from ${this.from} up to #${frame.position}, ` +
          "the newest when you asked.");
        return;
      }
      this.list.append(eventRow(entryOf(frame)));
      this.last = frame.position;
      shown += 1;
      if (shown === LIMIT) {
        this.#stop(`${this.#count()} from ${this.from} to #${this.last}; there may be more.`);
        this.more.hidden = false;
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) {
        this.summary.textContent = `The replay from ${label} stopped: the server refused it ` +
          "or went away. Try again.";
      }
    };
  }

  #stop(summary) {
    const socket = this.socket;
    this.socket = null;
    socket.close();
    this.summary.textContent = summary;
  }

  #count() {
    const count = this.list.children.length;
    return count === 1 ? "1 event" : `${count === 0 ? "No" : count} events`;
  }
}
