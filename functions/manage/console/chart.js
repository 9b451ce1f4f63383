// Bookings per hour as an inline SVG bar chart, with a visually hidden table holding the same numbers.
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
// The SVG stretches to the width it gets, so it holds only shapes; the axis labels are HTML text around it.
const WIDTH = 720;
const HEIGHT = 200;
const PAD_TOP = 4;

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

const hourLabel = (iso) =>
  new Date(iso).toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });

export function bookingsChart(hours) {
  const total = hours.reduce((sum, h) => sum + (h.booked || 0), 0);
  const label = `Bookings per hour, last ${hours.length} hours: ${total} in all`;
  const chart = svg("svg", {
    id: "bookings-chart",
    role: "img",
    "aria-label": label,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    class: "chart",
    focusable: "false",
  });
  const max = Math.max(1, ...hours.map((h) => h.booked || 0));
  const plotHeight = HEIGHT - PAD_TOP;
  const slot = WIDTH / Math.max(1, hours.length);
  const baseline = HEIGHT;

  chart.append(
    svg("line", { x1: 0, x2: WIDTH, y1: HEIGHT, y2: HEIGHT, class: "axis", "vector-effect": "non-scaling-stroke" }),
    svg("line", { x1: 0, x2: WIDTH, y1: PAD_TOP, y2: PAD_TOP, class: "grid", "vector-effect": "non-scaling-stroke" }),
  );
  hours.forEach((h, i) => {
    const height = ((h.booked || 0) / max) * plotHeight;
    const bar = svg("rect", {
      x: (i * slot + slot * 0.1).toFixed(2),
      y: (baseline - height).toFixed(2),
      width: (slot * 0.8).toFixed(2),
      height: height.toFixed(2),
      class: "bar",
    });
    bar.append(svg("title", {}, `${hourLabel(h.hour)}: ${h.booked || 0} booked`));
    chart.append(bar);
  });
  // The labels repeat what the aria-label and the table say, so they are hidden from screen readers.
  const axis = el(
    "div",
    { class: "chart-axis", "aria-hidden": "true" },
    el("span", { text: hours.length ? hourLabel(hours[0].hour) : "" }),
    el("span", { text: hours.length ? hourLabel(hours.at(-1).hour) : "" }),
  );
  const scale = el(
    "div",
    { class: "chart-scale", "aria-hidden": "true" },
    el("span", { text: String(max) }),
    el("span", { text: "0" }),
  );
  return el(
    "figure",
    { class: "chart-figure" },
    scale,
    chart,
    axis,
    alternative(hours),
    el("figcaption", { text: label }),
  );
}

function alternative(hours) {
  return el(
    "table",
    { class: "visually-hidden", id: "bookings-table" },
    el("caption", { text: "Bookings per hour" }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Hour" }), el("th", { scope: "col", text: "Booked" }))),
    el(
      "tbody",
      {},
      hours.map((h) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: new Date(h.hour).toLocaleString() }),
          el("td", { text: String(h.booked || 0) }),
        ),
      ),
    ),
  );
}
