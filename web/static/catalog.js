// The catalog table: the page of GET /api/v1/funkos the controls ask for, kept current by events.

import { element, price, timeOf } from "./format.js";

const SIZE = 10;
const TYPING_DELAY = 250; // ms after the last key before searching
const EVENTS_DELAY = 150; // ms: a burst of events costs one request
const SORTED = { asc: "ascending", desc: "descending" };

export class Catalog {
  constructor(section) {
    this.query = { name: "", sortBy: "name", direction: "asc", page: 0 };
    this.rows = new Map(); // Funko id → its <tr>, reused so that rows change in place
    this.touched = new Set(); // Funkos named by events since the last page was shown
    this.body = section.querySelector("tbody");
    this.status = section.querySelector(".catalog-status");
    this.info = section.querySelector(".page-info");
    this.controls = section.querySelector("form").elements;
    this.headers = section.querySelectorAll("th[data-sort]");
    this.pager = section.querySelector(".pager");
    this.#listen();
    this.#showQuery();
  }

  /** Fetch the page the controls ask for and show it; a newer fetch cancels an older one. */
  async refresh() {
    this.fetching?.abort();
    const fetching = (this.fetching = new AbortController());
    const { name, sortBy, direction, page } = this.query;
    const params = new URLSearchParams({ sortBy, direction, page, size: SIZE });
    if (name) params.set("name", name);
    try {
      const response = await fetch(`/api/v1/funkos?${params}`, { signal: fetching.signal });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      this.#show(await response.json());
    } catch (error) {
      if (error.name !== "AbortError") this.status.textContent = `Not up to date: ${error.message}.`;
    }
  }

  /** An event: change or drop its row at once, then fetch the page again for order and totals. */
  apply(event) {
    const row = this.rows.get(event.funkoId);
    if (row && event.type === "DELETE") {
      row.remove();
      this.rows.delete(event.funkoId);
    } else if (row) {
      fill(row, event.data);
      flash(row);
    }
    this.touched.add(event.funkoId);
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.refresh();
    }, EVENTS_DELAY);
  }

  #show(page) {
    if (page.content.length === 0 && page.pageNumber > 0 && page.totalPages > 0) {
      this.query.page = page.totalPages - 1; // the last page emptied: show the one before
      this.refresh();
      return;
    }
    const rows = new Map(page.content.map((funko) => [funko.id, this.#rowFor(funko)]));
    this.body.replaceChildren(...rows.values());
    this.rows = rows;
    this.touched.clear();
    const pages = Math.max(page.totalPages, 1);
    const count = page.totalElements === 1 ? "1 Funko" : `${page.totalElements} Funkos`;
    this.info.textContent = `Page ${page.pageNumber + 1} of ${pages} · ${count}`;
    this.pager.querySelector("[name=previous]").disabled = page.first;
    this.pager.querySelector("[name=next]").disabled = page.last;
    this.status.textContent = page.totalElements === 0 ? "No Funkos match." : "";
  }

  #rowFor(funko) {
    const known = this.rows.get(funko.id);
    const row = known ?? element("tr", { "data-id": funko.id });
    if (known?.dataset.version !== String(funko.version)) fill(row, funko);
    if (this.touched.has(funko.id)) flash(row);
    return row;
  }

  #listen() {
    const { name, sortBy, direction } = this.controls;
    name.addEventListener("input", () => {
      clearTimeout(this.typing);
      this.typing = setTimeout(() => this.#ask({ name: name.value.trim(), page: 0 }), TYPING_DELAY);
    });
    name.form.addEventListener("submit", (submit) => submit.preventDefault());
    sortBy.addEventListener("change", () => this.#ask({ sortBy: sortBy.value, page: 0 }));
    direction.addEventListener("click", () => this.#ask({ direction: flip(this.query.direction) }));
    for (const header of this.headers) {
      const field = header.dataset.sort;
      header.querySelector("button").addEventListener("click", () => {
        const again = this.query.sortBy === field;
        this.#ask({ sortBy: field, direction: again ? flip(this.query.direction) : "asc", page: 0 });
      });
    }
    const pages = (step) => () => this.#ask({ page: Math.max(0, this.query.page + step) });
    this.pager.querySelector("[name=previous]").addEventListener("click", pages(-1));
    this.pager.querySelector("[name=next]").addEventListener("click", pages(+1));
  }

  #ask(change) {
    Object.assign(this.query, change);
    this.#showQuery();
    this.refresh();
  }

  #showQuery() {
    const { sortBy, direction } = this.query;
    this.controls.sortBy.value = sortBy;
    this.controls.direction.textContent = direction === "asc" ? "Ascending ▲" : "Descending ▼";
    for (const header of this.headers) {
      const sorted = header.dataset.sort === sortBy;
      header.setAttribute("aria-sort", sorted ? SORTED[direction] : "none");
    }
  }
}

function flip(direction) {
  return direction === "asc" ? "desc" : "asc";
}

function fill(row, funko) {
  row.dataset.version = funko.version;
  row.replaceChildren(
    // A long name is cut short on screen (see dashboard.css): the whole of it is in the tooltip.
    element("td", { class: "name", "data-label": "Name", title: funko.name },
      element("span", {}, funko.name)),
    element("td", { "data-label": "Category" }, funko.category),
    element("td", { class: "number", "data-label": "Price" }, price(funko.price)),
    element("td", { class: "number", "data-label": "Stock" }, funko.stock),
    element("td", { class: "stamp", "data-label": "Updated" }, timeOf(funko.updatedAt, "stamp")),
  );
}

function flash(row) {
  row.classList.remove("flash");
  void row.offsetWidth; // restart the animation when a row changes twice in a row
  row.classList.add("flash");
}
