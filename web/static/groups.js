// Consumer groups: GET /api/v1/groups every 2 s with an admin token pasted into the page.
//
// The token lives in this object only, in the tab's memory: never in storage, a cookie or the
// address, and the field it was pasted into is cleared at once. A reload forgets it.

import { element } from "./format.js";

const EVERY = 2000; // ms between one answer and the next request
const PATIENCE = 5000; // ms before a request with no answer counts as a network error
const COLUMNS = [
  ["Name", "name"], ["Checkpoint", "checkpoint"], ["Lag", "lag"],
  ["Members", "members"], ["In flight", "inFlight"], ["Parked", "parked"],
];
const ASK = "Paste an admin token to see the consumer groups.";

export class Groups {
  constructor(section) {
    this.token = null;
    this.body = section.querySelector("tbody");
    this.table = section.querySelector("table");
    this.status = section.querySelector(".groups-status");
    const form = section.querySelector("form");
    this.field = form.elements.token;
    this.forget = form.elements.forget;
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      this.#watch(this.field.value);
    });
    this.forget.addEventListener("click", () => this.#stop(ASK));
    this.#stop(ASK);
  }

  /** Follow the groups with `pasted` (a token, perhaps with "Bearer " before it). */
  #watch(pasted) {
    const token = pasted.trim().replace(/^bearer\s+/i, "");
    this.field.value = "";
    if (!token) return;
    this.#stop("Asking for the groups…");
    this.token = token;
    this.forget.disabled = false;
    this.#poll(token);
  }

  /** Forget the token, drop what it showed, and say `message`. */
  #stop(message) {
    this.token = null;
    this.asking?.abort();
    clearTimeout(this.next);
    this.forget.disabled = true;
    this.#showGroups([]);
    this.#say(message);
  }

  async #poll(token) {
    const asking = (this.asking = new AbortController());
    const signal = AbortSignal.any([asking.signal, AbortSignal.timeout(PATIENCE)]);
    const headers = { Authorization: `Bearer ${token}` };
    let outcome;
    try {
      const response = await fetch("/api/v1/groups", { headers, signal, cache: "no-store" });
      outcome = { response, body: await response.json().catch(() => null) };
    } catch (error) {
      outcome = { error };
    }
    if (this.token !== token || asking.signal.aborted) return; // forgotten or replaced meanwhile
    if (this.#show(outcome)) this.next = setTimeout(() => this.#poll(token), EVERY);
  }

  /** Show what a request got; whether to ask again. */
  #show({ response, body, error }) {
    if (error) {
      const why = error.name === "TimeoutError" ? "no answer in 5 s" : "the server cannot be reached";
      this.#say(`Not up to date: ${why}. Trying again every 2 s.`);
    } else if (response.status === 401) {
      this.#stop(`Token refused: ${body?.detail ?? "it is not valid."} Paste another.`);
      return false;
    } else if (response.status === 403) {
      this.#stop("This token needs the admin role to see the groups. Paste an admin token.");
      return false;
    } else if (!response.ok || !Array.isArray(body)) {
      this.#say(`Not up to date: the server answered ${response.status}. Trying again every 2 s.`);
    } else {
      this.#showGroups(body);
      this.#say(body.length === 0 ? "No groups." : "");
    }
    return true;
  }

  #showGroups(groups) {
    this.body.replaceChildren(...groups.map(rowOf));
    this.table.hidden = groups.length === 0;
  }

  /** Set the status line, only when it changes (it is a live region: each change is read out). */
  #say(message) {
    if (this.status.textContent !== message) this.status.textContent = message;
  }
}

function rowOf(group) {
  const cells = COLUMNS.map(([label, key]) => {
    if (key !== "name") return element("td", { class: "number", "data-label": label }, group[key]);
    // Cut short on screen like the catalog's names (dashboard.css): all of it in the tooltip.
    const name = element("span", {}, group.name);
    return element("td", { class: "name", "data-label": label, title: group.name }, name);
  });
  return element("tr", { "data-name": group.name }, ...cells);
}
