// The overview (#/): every integration the user may see, problems first, sortable by client.
import { api } from "./api.js";
import { COLOUR_RANK, cell, el, fill, setTitle, statusBadge, timeElement } from "./dom.js";

const SORTS = {
  status: (a, b) => rank(a) - rank(b) || byClient(a, b),
  client: (a, b) => byClient(a, b) || rank(a) - rank(b),
};

function rank(connection) {
  return COLOUR_RANK[connection.colour] ?? 3;
}

function byClient(a, b) {
  return (a.client || "").localeCompare(b.client || "") || (a.name || "").localeCompare(b.name || "");
}

export async function renderOverview(view, context) {
  setTitle("Integrations");
  const { connections } = await api.connections();
  if (!context.alive()) return;
  const list = connections || [];
  const heading = el("h1", { text: "Integrations" });
  if (list.length === 0) {
    fill(view, heading, el("p", { id: "no-connections", text: "There are no integrations you may see yet." }));
    return;
  }
  const table = el("table", { id: "connections", class: "cards" });
  const sort = el(
    "select",
    { id: "sort", name: "sort" },
    el("option", { value: "status", text: "Problems first (red, then waiting)" }),
    el("option", { value: "client", text: "Client" }),
  );
  const draw = () => drawTable(table, [...list].sort(SORTS[sort.value]), sort.value);
  sort.addEventListener("change", draw);
  draw();
  fill(
    view,
    heading,
    summary(list),
    el("div", { class: "field inline" }, el("label", { for: "sort", text: "Sort by" }), sort),
    el("div", { class: "table-wrap" }, table),
  );
}

function summary(list) {
  const count = (colour) => list.filter((c) => c.colour === colour).length;
  const parts = [`${list.length} integrations`, `${count("red")} red`, `${count("yellow")} waiting`];
  return el("p", { class: "summary", text: `${parts.join(", ")}, ${count("green")} green.` });
}

function drawTable(table, rows, sort) {
  const caption = el("caption", {
    text: sort === "status" ? "Integrations, problems first" : "Integrations by client",
  });
  const columns = ["Client", "Integration", "Status", "Last success", "Last error", "Booked", "Pending", "Parked"];
  const sortedBy = sort === "status" ? "Status" : "Client";
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      columns.map((label) =>
        el("th", {
          scope: "col",
          class: /^(Booked|Pending|Parked)$/.test(label) ? "num" : null,
          "aria-sort": label === sortedBy ? "ascending" : null,
          text: label,
        }),
      ),
    ),
  );
  fill(table, caption, head, el("tbody", {}, rows.map(row)));
}

function row(connection) {
  const id = connection.connection_id;
  const href = `#/connections/${encodeURIComponent(id)}`;
  const tr = el(
    "tr",
    { dataset: { connectionId: id, colour: connection.colour } },
    cell("Client", "client", connection.client || "—"),
    cell("Integration", "name", el("a", { class: "open", href, text: connection.name || id }), flow(connection)),
    cell("Status", "status", statusBadge(connection.colour, connection.status)),
    cell("Last success", "last-success", timeElement(connection.last_success)),
    cell("Last error", "last-error", lastError(connection)),
    cell("Booked", "booked num", String(connection.booked ?? 0)),
    cell("Pending", "pending num", String(connection.pending ?? 0)),
    cell("Parked", "parked num", String(connection.parked ?? 0)),
  );
  // The whole row opens the connection; the link inside stays the keyboard way in.
  tr.addEventListener("click", (event) => {
    if (event.target.closest("a, button")) return;
    window.location.hash = href;
  });
  return tr;
}

function flow(connection) {
  const targets = (connection.targets || []).map((t) => t.title || t.name).join(", ");
  const source = connection.source_title || connection.source || "";
  if (!source && !targets) return null;
  return el("span", { class: "flow", text: `${source} → ${targets}` });
}

function lastError(connection) {
  if (!connection.last_error) return el("span", { class: "muted", text: "none" });
  return el(
    "span",
    {},
    el("span", { class: "error-text", text: connection.last_error }),
    connection.last_error_at ? el("span", { class: "when" }, " (", timeElement(connection.last_error_at), ")") : null,
  );
}
