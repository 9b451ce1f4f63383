// Firm and operator only: a fresh start link per system ("Connect again") and disconnecting the integration.
import { api } from "./api.js";
import { claim, el, exactTime, fill, notice, release } from "./dom.js";

export function systemsSection(page, onChange) {
  const c = page.connection;
  const systems = [
    { name: c.source, title: c.source_title || c.source, role: "source" },
    ...(c.targets || []).map((t) => ({ name: t.name, title: t.title || t.name, role: "target" })),
  ];
  const list = el(
    "ul",
    { class: "systems" },
    systems.map((system) => systemItem(page, system)),
  );
  const disconnect = el("button", { type: "button", id: "disconnect", class: "danger", text: "Disconnect" });
  disconnect.addEventListener("click", async () => {
    const sure = window.confirm(
      `Disconnect ${c.name}? Koppel stops booking for this integration until someone connects it again.`,
    );
    if (!sure || !claim(disconnect)) return;
    try {
      onChange(await api.disconnect(page.id));
      notice(`${c.name} is disconnected.`);
    } catch (error) {
      if (error.status !== 401) notice(error.message, "error");
    } finally {
      release(disconnect);
    }
  });
  return el(
    "section",
    { "aria-labelledby": "systems-title" },
    el("h2", { id: "systems-title", text: "Connections to the systems" }),
    el("p", {
      class: "help",
      text:
        "Connect again makes a start link. Send it to the person who can log in to that system; " +
        "the link works once.",
    }),
    list,
    el("p", {}, disconnect),
  );
}

function systemItem(page, system) {
  const slug = system.name.replace(/[^A-Za-z0-9_-]/g, "-");
  const result = el("div", { class: "start-link", id: `start-${slug}` });
  const button = el("button", {
    type: "button",
    class: "connect secondary",
    dataset: { system: system.name },
    text: "Connect again",
    "aria-label": `Connect ${system.title} again`,
  });
  button.addEventListener("click", async () => {
    if (!claim(button)) return;
    try {
      const answer = await api.connect(page.id, system.name);
      showLink(result, slug, system, answer);
      notice(`A start link for ${system.title} is ready to copy.`);
    } catch (error) {
      if (error.status !== 401) notice(error.message, "error");
    } finally {
      release(button);
    }
  });
  return el("li", {}, el("span", { class: "system-name", text: `${system.title} (${system.role})` }), button, result);
}

function showLink(box, slug, system, answer) {
  const inputId = `start-url-${slug}`;
  const input = el("input", { id: inputId, type: "url", readonly: true, value: answer.url, class: "url" });
  const copy = el("button", { type: "button", class: "secondary", text: "Copy link" });
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(answer.url);
      notice("The start link is copied.");
    } catch {
      notice("Copying was not allowed; the link is selected, copy it with your keyboard.");
    }
  });
  fill(
    box,
    el("label", { for: inputId, text: `Start link for ${system.title}` }),
    el("div", { class: "copy-row" }, input, copy),
    answer.expires_at ? el("p", { class: "help", text: `Valid until ${exactTime(answer.expires_at)}.` }) : null,
  );
  input.focus();
  input.select();
}
