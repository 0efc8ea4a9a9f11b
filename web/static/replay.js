// Replay: the log from a chosen position on, oldest first, on a WebSocket of its own.

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
      this.from = Number(form.elements.from.value);
      this.list.replaceChildren();
      this.#replay(this.from);
    });
    this.more.addEventListener("click", () => this.#replay(this.last + 1));
  }

  /** Append the events from position `from` on: up to the newest, or LIMIT of them. */
  #replay(from) {
    this.socket?.close();
    this.more.hidden = true;
    const newest = this.newest();
    if (newest !== null && from - 1 > newest) {
      this.summary.textContent = `Nothing from #${from} yet: the newest event is #${newest}.`;
      return;
    }
    const socket = (this.socket = new WebSocket(streamUrl(from - 1)));
    let shown = 0;
    this.summary.textContent = `Replaying from #${from}…`;
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "CAUGHT_UP") {
        this.#stop(`${this.#count()} from #${this.from} up to #${frame.position}, ` +
          "the newest when you asked.");
        return;
      }
      this.list.append(eventRow(entryOf(frame)));
      this.last = frame.position;
      shown += 1;
      if (shown === LIMIT) {
        this.#stop(`${this.#count()} from #${this.from} to #${this.last}; there may be more.`);
        this.more.hidden = false;
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) {
        this.summary.textContent = `The replay from #${from} stopped: the server refused it ` +
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
