// "Fetch again": asks the source for documents from a date on (a backfill); the answer's message is shown.
import { api } from "./api.js";
import { claim, el, notice, release } from "./dom.js";

export function backfillSection(page) {
  const since = el("input", { id: "backfill-since", name: "since", type: "date", required: true });
  const until = el("input", { id: "backfill-until", name: "until", type: "date" });
  const output = el("p", { id: "backfill-message", class: "form-message" });
  const form = el(
    "form",
    { id: "backfill-form", novalidate: true },
    el("p", {
      class: "help",
      text:
        "Fetch documents again from the shop or CRM, for example after a mapping was fixed. " +
        "Documents already booked are not booked twice.",
    }),
    el("div", { class: "field" }, el("label", { for: "backfill-since", text: "From (date)" }), since),
    el("div", { class: "field" }, el("label", { for: "backfill-until", text: "Until (date, optional)" }), until),
    el("button", { type: "submit", text: "Fetch again" }),
    output,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!since.value) {
      output.textContent = "Choose the date to fetch from.";
      since.focus();
      return;
    }
    const button = form.querySelector("button");
    if (!claim(button)) return;
    try {
      const answer = await api.backfill(page.id, since.value, until.value);
      output.textContent = answer.message || `${answer.jobs} jobs started.`;
      notice(output.textContent);
    } catch (error) {
      if (error.status !== 401) {
        output.textContent = error.message;
        notice(error.message, "error");
      }
    } finally {
      release(button);
    }
  });
  return el(
    "section",
    { "aria-labelledby": "backfill-title" },
    el("h2", { id: "backfill-title", text: "Fetch again (backfill)" }),
    form,
  );
}
