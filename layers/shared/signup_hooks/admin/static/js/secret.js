// A rotated signing secret, shown once in its endpoint's entry with a Copy button; never kept in the page's state.

import { element, resultRegion } from "./dom.js";
import { report } from "./status.js";
import { timeNode } from "./times.js";

// Copies the shown secret; where the clipboard cannot be written (an older browser, no permission) the text is
// selected instead, for Ctrl+C or ⌘C.
async function copySecret(field, region) {
  try {
    await navigator.clipboard.writeText(field.value);
    report(region, "ok", "Copied the new signing secret to the clipboard.");
  } catch {
    field.focus();
    field.select();
    report(region, "ok", "The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
  }
}

export function showNewSecret(box, item, rotated) {
  const id = `new-secret-${item.id}`;
  const label = element("label", "", `New signing secret of ${item.name}`);
  label.htmlFor = id;
  const field = element("input", "secret-value");
  Object.assign(field, { id, type: "text", readOnly: true, value: rotated.signing_secret, spellcheck: false });
  field.setAttribute("autocomplete", "off");
  field.addEventListener("focus", () => field.select());
  const copyRegion = resultRegion(`copy-result-${item.id}`);
  const copy = element("button", "secondary copy", "Copy");
  copy.type = "button";
  copy.setAttribute("aria-label", `Copy the new signing secret of ${item.name}`);
  copy.setAttribute("aria-describedby", copyRegion.id);
  copy.addEventListener("click", () => copySecret(field, copyRegion));
  const line = element("div", "secret-line");
  line.append(field, copy);
  const until = rotated.previous_until
    ? element("p", "help", "The previous secret also signs requests until ")
    : element("p", "help", "There was no previous secret.");
  if (rotated.previous_until) until.append(timeNode(rotated.previous_until), ": give the receiver the new one before then.");
  const hint = element("p", "help copy-hint", "Copy it now: it is shown only this once.");
  box.replaceChildren(label, line, copyRegion, hint, until);
  box.hidden = false;
  field.focus();
}
