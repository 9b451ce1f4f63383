// The mapping editor (#/connections/ID/mapping/TARGET): one labelled control per field, checked by the server;
// its 422 problems are shown next to their field and summed up in #mapping-message.
import { api } from "./api.js";
import { claim, el, fill, release, setTitle } from "./dom.js";

const slug = (name) => String(name).replace(/[^A-Za-z0-9_-]/g, "-");
let rowCounter = 0;

export async function renderMapping(view, id, target, context) {
  const [mapping, connection] = await Promise.all([api.mapping(id, target), api.connection(id).catch(() => null)]);
  if (!context.alive()) return;
  const title = mapping.title || target;
  setTitle(`Mapping for ${title}`);
  const back = `#/connections/${encodeURIComponent(id)}`;
  const message = el("div", { id: "mapping-message", role: "status", tabindex: "-1" });
  const form = el(
    "form",
    { id: "mapping-form", novalidate: true },
    (mapping.fields || []).map((field) => fieldControl(field, mapping)),
    message,
    el("button", { id: "save-mapping", type: "submit", text: "Save mapping" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(form, id, target, mapping, message);
  });
  const synced = (mapping.fields || []).some((field) => choices(mapping, field).length > 0);
  const chartNote = synced
    ? null
    : el("p", { class: "help", text: `No chart of accounts was read from ${title} yet, so codes are typed in.` });
  fill(
    view,
    el(
      "p",
      { class: "crumbs" },
      el("a", { href: back, text: `← ${connection ? connection.name : "Back to the integration"}` }),
    ),
    el("h1", { text: `Mapping for ${title}` }),
    el("p", { class: "help", text: `Where Koppel books each kind of amount in ${title}.` }),
    chartNote,
    form,
  );
}

// What a field's values are chosen from: the chart list the API names for it (ledgers, tax codes, Items, rulesets).
const CHOICE_WORDS = { ledgers: "Ledger", tax_codes: "Tax code", items: "Item", rulesets: "Ruleset" };

function choices(mapping, field) {
  return mapping[field.picks_from] || [];
}

function options(list, current) {
  const known = list.some((item) => item.code === current);
  return [
    el("option", { value: "", text: "— choose —" }),
    current && !known ? el("option", { value: current, text: `${current} (not in the chart)` }) : null,
    list.map((item) => el("option", { value: item.code, text: [item.code, item.name].filter(Boolean).join(" – ") })),
  ];
}

// A select when the synced chart has entries, a text input when nothing was synced yet.
function codeControl(list, current, attrs) {
  if (list.length > 0) {
    const select = el("select", attrs, options(list, current || ""));
    select.value = current || "";
    return select;
  }
  return el("input", { ...attrs, value: current || "", autocomplete: "off", spellcheck: "false" });
}

function fieldControl(field, mapping) {
  const id = `field-${slug(field.name)}`;
  const helpId = `help-${slug(field.name)}`;
  const help = field.help ? el("p", { class: "help", id: helpId, text: field.help }) : null;
  const describedBy = help ? helpId : null;
  if (field.kind === "ledger") {
    const control = codeControl(choices(mapping, field), field.value, {
      id,
      name: field.name,
      "aria-describedby": describedBy,
    });
    control.classList.add("mapped");
    return el(
      "div",
      { class: "field", dataset: { field: field.name } },
      el("label", { for: id, text: field.label || field.name }),
      help,
      control,
    );
  }
  const list = choices(mapping, field);
  const valueWord = CHOICE_WORDS[field.picks_from] || "Code";
  const datalistId = `keys-${slug(field.name)}`;
  const rows = el("div", { class: "map-rows" });
  const addRow = (key = "", value = "") => {
    const row = mapRow(field, list, valueWord, datalistId, key, value);
    rows.append(row);
    return row;
  };
  for (const [key, value] of Object.entries(field.value || {})) addRow(key, value);
  if (rows.children.length === 0) addRow();
  const add = el("button", {
    type: "button",
    class: "secondary add-row",
    text: "Add row",
    "aria-label": `Add row to ${field.label || field.name}`,
  });
  add.addEventListener("click", () => addRow().querySelector("input").focus());
  rows.addEventListener("click", (event) => {
    const remove = event.target.closest("button.remove-row");
    if (!remove) return;
    const row = remove.closest(".map-row");
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    (next ? next.querySelector("input") : add).focus();
  });
  return el(
    "fieldset",
    { class: "field map", id, name: field.name, dataset: { field: field.name }, "aria-describedby": describedBy },
    el("legend", { text: field.label || field.name }),
    help,
    el(
      "datalist",
      { id: datalistId },
      (field.keys || []).map((key) => el("option", { value: key })),
    ),
    rows,
    add,
  );
}

function mapRow(field, list, valueWord, datalistId, key, value) {
  const n = ++rowCounter;
  const keyId = `${slug(field.name)}-key-${n}`;
  const valueId = `${slug(field.name)}-value-${n}`;
  const keyInput = el("input", {
    id: keyId,
    class: "map-key",
    name: `${field.name}.key`,
    list: datalistId,
    value: key,
    autocomplete: "off",
  });
  const valueControl = codeControl(list, value, { id: valueId, class: "map-value", name: `${field.name}.value` });
  const remove = el("button", { type: "button", class: "secondary remove-row", text: "Remove" });
  // The button says which row it removes, also after the key was edited.
  const name = () =>
    remove.setAttribute("aria-label", `Remove row ${keyInput.value || "(empty)"} from ${field.label || field.name}`);
  keyInput.addEventListener("input", name);
  name();
  return el(
    "div",
    { class: "map-row" },
    el("div", { class: "cell" }, el("label", { for: keyId, text: "Key" }), keyInput),
    el("div", { class: "cell" }, el("label", { for: valueId, text: valueWord }), valueControl),
    remove,
  );
}

function collect(form, mapping) {
  const fields = {};
  for (const field of mapping.fields || []) {
    const box = form.querySelector(`[data-field="${CSS.escape(field.name)}"]`);
    if (field.kind === "ledger") {
      fields[field.name] = box.querySelector(".mapped").value.trim() || null;
      continue;
    }
    const map = {};
    for (const row of box.querySelectorAll(".map-row")) {
      const key = row.querySelector(".map-key").value.trim();
      const value = row.querySelector(".map-value").value.trim();
      if (key || value) map[key] = value;
    }
    fields[field.name] = map;
  }
  return fields;
}

function clearProblems(form) {
  for (const problem of form.querySelectorAll(".problem")) problem.remove();
  for (const node of form.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    const ids = (node.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.startsWith("problem-"));
    if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
    else node.removeAttribute("aria-describedby");
  }
}

function describe(node, problemId) {
  const ids = (node.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  node.setAttribute("aria-describedby", [...ids, problemId].join(" "));
  node.setAttribute("aria-invalid", "true");
}

function showProblems(form, problems) {
  const summary = [];
  problems.forEach((problem, i) => {
    const name = String(problem.field || "").split(/[.[]/)[0];
    const box = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
    if (!box) {
      summary.push(el("li", { text: problem.message }));
      return;
    }
    const problemId = `problem-${slug(name)}-${i}`;
    const label = box.querySelector("label, legend").textContent;
    const note = el("p", { class: "problem", id: problemId, text: problem.message });
    const controls = box.matches("fieldset")
      ? [box, ...box.querySelectorAll("input, select")]
      : [box.querySelector(".mapped")];
    controls.forEach((node) => describe(node, problemId));
    box.querySelector("label, legend").after(note);
    const target = controls.at(-1) === box ? box : controls[controls.length > 1 ? 1 : 0];
    const link = el("a", { href: `#${target.id}`, text: `${label}: ${problem.message}` });
    link.addEventListener("click", (event) => {
      event.preventDefault(); // the hash is the router's; move focus to the field instead
      target.focus();
    });
    summary.push(el("li", {}, link));
  });
  return summary;
}

async function save(form, id, target, mapping, message) {
  const button = form.querySelector("#save-mapping");
  if (!claim(button)) return;
  clearProblems(form);
  fill(message);
  message.dataset.kind = "";
  try {
    const saved = await api.saveMapping(id, target, collect(form, mapping));
    Object.assign(mapping, saved);
    message.dataset.kind = "ok";
    message.textContent = "Saved. Koppel uses this mapping from the next booking on.";
  } catch (error) {
    if (error.status === 401) return;
    const problems = Array.isArray(error.body.problems) ? error.body.problems : [];
    message.dataset.kind = "error";
    const items = showProblems(form, problems);
    message.append(el("p", { text: error.message }), items.length ? el("ul", {}, items) : null);
    message.focus();
  } finally {
    release(button);
  }
}
