// Bookings per hour as an inline SVG bar chart, with a visually hidden table holding the same numbers.
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 200;
const PAD = { top: 12, right: 8, bottom: 28, left: 36 };

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

const hourLabel = (iso) => new Date(iso).toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });

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
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, hours.length);
  const baseline = PAD.top + plotHeight;

  chart.append(
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: baseline, y2: baseline, class: "axis" }),
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: PAD.top, y2: PAD.top, class: "grid" }),
    svg("text", { x: PAD.left - 6, y: PAD.top + 4, class: "tick", "text-anchor": "end" }, String(max)),
    svg("text", { x: PAD.left - 6, y: baseline, class: "tick", "text-anchor": "end" }, "0"),
  );
  hours.forEach((h, i) => {
    const height = ((h.booked || 0) / max) * plotHeight;
    const bar = svg("rect", {
      x: (PAD.left + i * slot + slot * 0.1).toFixed(2),
      y: (baseline - height).toFixed(2),
      width: (slot * 0.8).toFixed(2),
      height: height.toFixed(2),
      class: "bar",
    });
    bar.append(svg("title", {}, `${hourLabel(h.hour)}: ${h.booked || 0} booked`));
    chart.append(bar);
  });
  if (hours.length > 0) {
    chart.append(
      svg("text", { x: PAD.left, y: HEIGHT - 8, class: "tick" }, hourLabel(hours[0].hour)),
      svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 8, class: "tick", "text-anchor": "end" }, hourLabel(hours.at(-1).hour)),
    );
  }
  return el("figure", { class: "chart-figure" }, chart, alternative(hours), el("figcaption", { text: label }));
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
        el("tr", {}, el("th", { scope: "row", text: new Date(h.hour).toLocaleString() }), el("td", { text: String(h.booked || 0) })),
      ),
    ),
  );
}
