// The live feed: a row per event, newest first, kept with the last position seen across reloads.

import { changedFields, element, timeOf } from "./format.js";

const KEY = "funko-dashboard.feed";
const KEEP = 100; // rows shown, and stored
const SAVE_DELAY = 200; // ms: a burst of events is stored once

/** What a row shows of an event envelope. */
export function entryOf(envelope) {
  const { position, type, funkoId, data, changes, createdAt } = envelope;
  return { position, type, funkoId, name: data.name, changes, createdAt };
}

/** One event as a list item: its type, the Funko's name, the fields it set, position, time. */
export function eventRow(entry) {
  // A CREATE sets every field: its name is already the row's title, and an empty one says nothing.
  const created = entry.type === "CREATE";
  const set = Object.entries(entry.changes)
    .filter(([field, value]) => !(created && (field === "name" || value === null)));
  const fields = changedFields(Object.fromEntries(set)).map(([field, shown, whole]) =>
    element("li", { title: `${field}: ${whole}` }, element("b", {}, field), " ", shown),
  );
  return element(
    "li",
    { class: `event ${entry.type.toLowerCase()}`, "data-position": entry.position },
    element("span", { class: "type" }, entry.type),
    element("span", { class: "name" }, entry.name),
    element("span", { class: "position" }, `#${entry.position}`),
    element("ul", { class: "changes", "aria-label": "Fields set" }, ...fields),
    timeOf(entry.createdAt, "clock"),
  );
}

export class Feed {
  /** The feed inside `section` (its list, empty text and notice), restored from storage. */
  constructor(section) {
    this.list = section.querySelector(".feed");
    this.empty = section.querySelector(".empty");
    this.notice = section.querySelector(".notice");
    ({ position: this.position, entries: this.entries } = restore());
    this.list.replaceChildren(...this.entries.map(eventRow));
    this.empty.hidden = this.entries.length > 0;
    addEventListener("pagehide", () => this.#save());
  }

  add(envelope) {
    const entry = entryOf(envelope);
    this.entries = [entry, ...this.entries.slice(0, KEEP - 1)];
    this.list.prepend(eventRow(entry));
    this.list.children[KEEP]?.remove();
    this.empty.hidden = true;
    this.reached(entry.position);
  }

  /** Everything up to `position` has been shown. */
  reached(position) {
    this.position = position;
    this.saving ??= setTimeout(() => this.#save(), SAVE_DELAY);
  }

  /** The server's log ends at `head`, before `stale`, which the feed had reached: its rows are
   * another log's, so they go. */
  restarted(stale, head) {
    this.notice.textContent = `This server's log ends at #${head}, before #${stale} seen ` +
      "here (a new database?): following it from there.";
    this.entries = [];
    this.list.replaceChildren();
    this.empty.hidden = false;
    this.reached(head);
  }

  #save() {
    clearTimeout(this.saving);
    this.saving = undefined;
    try {
      localStorage.setItem(KEY, JSON.stringify({ position: this.position, entries: this.entries }));
    } catch {
      // Storage full or forbidden: the feed still works, a reload just starts live.
    }
  }
}

function restore() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY));
    if (Number.isInteger(saved?.position) && Array.isArray(saved.entries)) return saved;
  } catch {
    // Nothing usable stored.
  }
  return { position: null, entries: [] };
}
