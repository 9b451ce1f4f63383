// The per-record history of a connection: a table filtered by state, with a Retry button on parked rows.
import { api } from "./api.js";
import { cell, el, fill, headerRow, timeElement } from "./dom.js";

export const STATES = [
  ["", "All states"],
  ["parked", "Parked"],
  ["pending", "Pending"],
  ["booked", "Booked"],
  ["not-bookable", "Not bookable"],
];
const STATE_WORD = Object.fromEntries(STATES.filter(([value]) => value));

const COLUMNS = [
  "When",
  "Document",
  "Party",
  "Total",
  "State",
  "Target",
  "Target document",
  "Tries",
  "Message",
  "Action",
];

export function historySection(page, onRetry) {
  const filter = el(
    "select",
    { id: "state-filter", name: "state" },
    STATES.map(([value, label]) => el("option", { value, text: label, selected: value === page.filter })),
  );
  filter.addEventListener("change", async () => {
    page.filter = filter.value;
    await refreshHistory(page);
  });
  page.historyTable = el("table", { id: "history", class: "cards", tabindex: "-1" });
  page.historyTable.addEventListener("click", (event) => {
    const button = event.target.closest("button.retry");
    if (button) onRetry(button.closest("tr").dataset.eventId, button);
  });
  return el(
    "section",
    { "aria-labelledby": "history-title" },
    el("h2", { id: "history-title", text: "Records" }),
    el("div", { class: "field inline" }, el("label", { for: "state-filter", text: "Show" }), filter),
    el("div", { class: "table-wrap" }, page.historyTable),
  );
}

export async function refreshHistory(page) {
  const { records } = await api.history(page.id, { state: page.filter, limit: 200 });
  if (!page.context.alive()) return [];
  page.records = records || [];
  drawHistory(page);
  return page.records;
}

function drawHistory(page) {
  const table = page.historyTable;
  // A re-draw removes the button that had focus; focus then goes to the table instead of getting lost.
  const hadFocus = table.contains(document.activeElement);
  const shown = STATE_WORD[page.filter] ? `${STATE_WORD[page.filter].toLowerCase()} records` : "all records";
  const caption = el("caption", { text: `Records, newest first: ${shown} (${page.records.length})` });
  if (page.records.length === 0) {
    fill(
      table,
      caption,
      el("tbody", {}, el("tr", {}, el("td", { colspan: COLUMNS.length, class: "empty", text: "No records." }))),
    );
  } else {
    fill(table, caption, headerRow(COLUMNS), el("tbody", {}, page.records.map(row)));
  }
  if (hadFocus && !table.contains(document.activeElement)) table.focus();
}

function row(record) {
  const name = record.document || record.event_id;
  return el(
    "tr",
    { dataset: { eventId: record.event_id, state: record.state } },
    cell("When", "updated", timeElement(record.updated_at, "—")),
    cell("Document", "document", record.document || "—"),
    cell("Party", "party", record.party || "—"),
    cell("Total", "total num", record.total ?? "—"),
    cell(
      "State",
      "state",
      el("span", { class: `state state-${record.state}`, text: STATE_WORD[record.state] || record.state }),
    ),
    cell("Target", "target", record.target_title || record.target || "—"),
    cell("Target document", "target-document", targetDocument(record)),
    cell("Tries", "attempts num", tries(record)),
    cell("Message", "message", record.message || "", payment(record)),
    cell(
      "Action",
      "actions",
      record.state === "parked"
        ? el("button", { type: "button", class: "retry", "aria-label": `Retry ${name}`, text: "Retry" })
        : null,
    ),
  );
}

function targetDocument(record) {
  const label = record.target_document || (record.target_link ? "Open" : "—");
  if (!record.target_link) return label;
  return el("a", {
    href: record.target_link,
    target: "_blank",
    rel: "noopener noreferrer",
    text: label,
    title: `Open ${label} in ${record.target_title || "the target"} (new tab)`,
  });
}

function tries(record) {
  const attempts = String(record.attempts ?? 0);
  return record.replays ? `${attempts} (retried ${record.replays}×)` : attempts;
}

function payment(record) {
  if (!record.payment || typeof record.payment !== "string") return null;
  return el("span", { class: "payment", text: ` Payment: ${record.payment}` });
}
