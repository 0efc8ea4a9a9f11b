// How values read on the page, and the one way to put them there: as text, never as markup.

const FIELD_ORDER = ["name", "category", "price", "stock", "image"];
const LONGEST = 60; // characters of a value shown in a feed row; all of it is in the tooltip
const clock = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

/** A new element with attributes and children; strings are added as text nodes, never parsed. */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children.map((child) => (child instanceof Node ? child : String(child))));
  return node;
}

/** A <time> showing ``iso`` as ``style`` ("clock" or "stamp"), the full date in its tooltip. */
export function timeOf(iso, style) {
  const when = new Date(iso);
  const shown = (style === "clock" ? clock : stamp).format(when);
  return element("time", { datetime: iso, title: full.format(when) }, shown);
}

export function price(value) {
  return Number(value).toFixed(2);
}

/** The fields an event set, in a steady order, as [field, value as shown, whole value]. */
export function changedFields(changes) {
  const rank = (field) => {
    const known = FIELD_ORDER.indexOf(field);
    return known === -1 ? FIELD_ORDER.length : known;
  };
  return Object.keys(changes)
    .sort((a, b) => rank(a) - rank(b))
    .map((field) => {
      const value = changes[field];
      const whole = value === null ? "none" : field === "price" ? price(value) : String(value);
      const shown = whole.length > LONGEST ? `${whole.slice(0, LONGEST - 1)}…` : whole;
      return [field, shown, whole];
    });
}
