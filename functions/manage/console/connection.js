// A connection's page (#/connections/ID): status and what to do, pause/resume, retries, records, chart,
// backfill, mappings and, for firm and operator, connect again / disconnect.
import { api } from "./api.js";
import { bookingsChart } from "./chart.js";
import { claim, el, fill, notice, release, setTitle, statusBadge, timeElement, wait } from "./dom.js";
import { backfillSection } from "./backfill.js";
import { historySection, refreshHistory } from "./history.js";
import { systemsSection } from "./systems.js";

const POLL_EVERY_MS = 2000;
const POLL_FOR_MS = 30000;

export async function renderConnection(view, id, context) {
  const [connection, bookings] = await Promise.all([
    api.connection(id),
    api.bookings(id).catch((error) => ({ failed: error })),
  ]);
  if (!context.alive()) return;
  const page = { id, connection, context, filter: "", records: [] };
  setTitle(connection.name);
  page.statusArea = el("section", { class: "status-area", "aria-label": "Status" });
  drawStatus(page);
  const history = historySection(page, (eventId, button) => retryOne(page, eventId, button));
  fill(
    view,
    el("p", { class: "crumbs" }, el("a", { href: "#/", text: "← All integrations" })),
    el("h1", { text: connection.name }),
    el("p", { class: "flow", text: flowText(connection) }),
    page.statusArea,
    history,
    chartSection(bookings),
    backfillSection(page),
    mappingSection(connection),
    ["firm", "operator"].includes(context.me.role) ? systemsSection(page, (next) => update(page, next)) : null,
  );
  await refreshHistory(page);
}

function flowText(connection) {
  const targets = (connection.targets || []).map((t) => t.title || t.name).join(", ");
  return `${connection.client || ""} · ${connection.source_title || connection.source} → ${targets}`;
}

function update(page, connection, focusId = "") {
  page.connection = connection;
  drawStatus(page, focusId);
}

function drawStatus(page, focusId = "") {
  const c = page.connection;
  const active = document.activeElement;
  const focused = focusId || (active && page.statusArea.contains(active) ? active.id : "");
  const status = el(
    "div",
    { id: "status", dataset: { colour: c.colour } },
    el("p", { class: "status-line" }, statusBadge(c.colour, c.status), c.status_reason && ` – ${c.status_reason}`),
    el("p", { id: "action", text: c.action || (c.colour === "green" ? "Nothing to do." : "") }),
  );
  const counts = el(
    "dl",
    { class: "counts" },
    [
      ["Booked", c.booked],
      ["Pending", c.pending],
      ["Parked", c.parked],
      ["Not bookable", c.not_bookable],
      ["Failed for good", c.dead],
    ].map(([label, n]) => el("div", {}, el("dt", { text: label }), el("dd", { text: String(n ?? 0) }))),
  );
  const times = el(
    "dl",
    { class: "times" },
    el("div", {}, el("dt", { text: "Last success" }), el("dd", { class: "last-success" }, timeElement(c.last_success))),
    el(
      "div",
      {},
      el("dt", { text: "Last error" }),
      el(
        "dd",
        { class: "last-error" },
        c.last_error || "none",
        c.last_error_at ? el("span", { class: "when" }, " (", timeElement(c.last_error_at), ")") : null,
      ),
    ),
  );
  fill(page.statusArea, status, counts, times, controls(page));
  const again = focused && document.getElementById(focused);
  if (again) again.focus();
}

function controls(page) {
  const c = page.connection;
  const box = el("div", { class: "controls" });
  if (c.status === "paused") {
    box.append(
      el("button", {
        type: "button",
        id: "resume",
        text: "Resume",
        onclick: (e) => act(page, e.currentTarget, () => api.resume(page.id), "Resumed.", "pause"),
      }),
    );
  } else if (c.status !== "disconnected") {
    const reason = el("input", { id: "pause-reason", name: "reason", autocomplete: "off" });
    box.append(
      el(
        "div",
        { class: "field inline" },
        el("label", { for: "pause-reason", text: "Reason for pausing (optional)" }),
        reason,
      ),
      el("button", {
        type: "button",
        id: "pause",
        class: "secondary",
        text: "Pause",
        onclick: (e) =>
          act(
            page,
            e.currentTarget,
            () => api.pause(page.id, reason.value.trim()),
            "Paused. Nothing is booked until you resume.",
            "resume",
          ),
      }),
    );
  }
  if ((c.parked || 0) > 0) {
    box.append(
      el("button", {
        type: "button",
        id: "retry-all",
        text: `Retry all parked (${c.parked})`,
        onclick: (e) => retryAll(page, e.currentTarget),
      }),
    );
  }
  return box;
}

async function act(page, button, request, message, nextFocus) {
  if (!claim(button)) return;
  try {
    update(page, await request(), nextFocus);
    notice(message);
  } catch (error) {
    release(button);
    if (error.status !== 401) notice(error.message, "error");
  }
}

async function retryOne(page, eventId, button) {
  const record = page.records.find((r) => r.event_id === eventId);
  const name = record ? record.document || eventId : eventId;
  if (!claim(button)) return;
  try {
    await api.replay(page.id, [eventId]);
  } catch (error) {
    release(button);
    if (error.status !== 401) notice(error.message, "error");
    return;
  }
  button.textContent = "Queued";
  notice(`${name} queued for retry.`);
  await pollUntil(page, async () => {
    const { records } = await api.history(page.id, { limit: 200 });
    const now = (records || []).find((r) => r.event_id === eventId);
    return !now || now.state !== "parked";
  });
}

async function retryAll(page, button) {
  if (!claim(button)) return;
  let answer;
  try {
    answer = await api.replay(page.id, []);
  } catch (error) {
    release(button);
    if (error.status !== 401) notice(error.message, "error");
    return;
  }
  const count = (answer.replayed || []).length;
  notice(answer.message || `${count} parked records queued for retry.`);
  await pollUntil(page, async () => (page.connection.parked || 0) === 0);
}

// After a retry the worker needs a moment: refresh status and records every 2 s for up to 30 s until done.
async function pollUntil(page, done) {
  const until = Date.now() + POLL_FOR_MS;
  while (Date.now() < until) {
    await wait(POLL_EVERY_MS);
    if (!page.context.alive()) return;
    try {
      const connection = await api.connection(page.id);
      if (!page.context.alive()) return;
      update(page, connection);
      await refreshHistory(page);
      if (await done()) return;
    } catch (error) {
      if (error.status !== 401) notice(error.message, "error");
      return;
    }
  }
}

function chartSection(bookings) {
  const section = el(
    "section",
    { "aria-labelledby": "chart-title" },
    el("h2", { id: "chart-title", text: "Bookings per hour" }),
  );
  if (bookings.failed) section.append(el("p", { class: "error", text: bookings.failed.message }));
  else section.append(bookingsChart(bookings.hours || []));
  return section;
}

function mappingSection(connection) {
  const id = encodeURIComponent(connection.connection_id);
  return el(
    "section",
    { "aria-labelledby": "mapping-title" },
    el("h2", { id: "mapping-title", text: "Mappings" }),
    el(
      "ul",
      { class: "links" },
      (connection.targets || []).map((t) =>
        el(
          "li",
          {},
          el("a", {
            class: "mapping",
            href: `#/connections/${id}/mapping/${encodeURIComponent(t.name)}`,
            text: `Mapping for ${t.title || t.name}`,
          }),
        ),
      ),
    ),
  );
}
