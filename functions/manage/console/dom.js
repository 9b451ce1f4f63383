// Small DOM helpers. API data only ever reaches the page as text (textContent) or attribute values, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Like replaceChildren, but skips null/false children the way el() does (replaceChildren would print "null").
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function notice(message, kind = "info") {
  const box = document.getElementById("notice");
  // Emptied first so a screen reader announces a repeated message again.
  box.textContent = "";
  box.dataset.kind = kind;
  if (message) window.setTimeout(() => (box.textContent = message), 30);
}

export function clearNotice() {
  const box = document.getElementById("notice");
  box.textContent = "";
  delete box.dataset.kind;
}

export const COLOUR_WORD = { green: "Green", yellow: "Waiting", red: "Red" };
export const COLOUR_RANK = { red: 0, yellow: 1, green: 2 };

// The coloured dot is decoration; the word next to it (and its shape) carries the meaning.
export function statusBadge(colour, detail) {
  const word = COLOUR_WORD[colour] || "Unknown";
  return el(
    "span",
    { class: `badge badge-${colour}` },
    el(
      "span",
      { class: "badge-main" },
      el("span", { class: `dot dot-${colour}`, "aria-hidden": "true" }),
      el("span", { class: "word", text: word }),
    ),
    detail ? el("span", { class: "detail", text: ` · ${detail}` }) : null,
  );
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [
  ["year", 31536000],
  ["month", 2592000],
  ["week", 604800],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

export function exactTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? String(iso) : when.toLocaleString();
}

export function relativeTime(iso, now = Date.now()) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  const seconds = Math.round((when.getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

// A time shown relative ("3 hours ago") with the exact local time in its title and datetime attribute.
export function timeElement(iso, empty = "never") {
  if (!iso) return el("span", { class: "muted", text: empty });
  return el("time", { datetime: iso, title: exactTime(iso), text: relativeTime(iso) });
}

// data-label names the column when a phone shows the row as a card; the content is kept in one box for that grid.
export function cell(label, className, ...children) {
  const content = children.filter((child) => child !== null && child !== undefined && child !== "");
  return el("td", { class: className, "data-label": label }, content.length > 1 ? el("div", {}, content) : content);
}

export function headerRow(labels) {
  return el(
    "thead",
    {},
    el(
      "tr",
      {},
      labels.map((label) => el("th", { scope: "col", text: label })),
    ),
  );
}

export function loading(text = "Loading…") {
  return el("p", { class: "loading", role: "status", text });
}

export function setTitle(text) {
  document.title = text ? `${text} – Koppel` : "Koppel console";
}

// Puts keyboard and screen reader focus on the page heading after a route change.
export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

// A busy button keeps its focus (aria-disabled, not disabled) and ignores further presses.
export function claim(button) {
  if (button.getAttribute("aria-disabled") === "true") return false;
  button.setAttribute("aria-disabled", "true");
  return true;
}

export function release(button) {
  button.removeAttribute("aria-disabled");
}

export const wait = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));
