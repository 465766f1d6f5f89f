// Results and errors: each action's result is shown next to its control, in a live region (role=status), scrolled
// into view; what a refused token does.

import { dropToken } from "./api.js";
import { $ } from "./dom.js";

const FIELDS = ["url", "format", "message_template"]; // fields the API can name in an error

// An error of a control the page itself checks, before anything is sent.
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// One action's result in its region next to the control: "ok" or "bad" (styled apart by more than colour), one
// paragraph per line. The region is in the page from the start (empty), so screen readers announce the change.
export function report(region, kind, ...lines) {
  region.className = `result ${kind}`;
  region.replaceChildren(...lines.filter(Boolean).map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
  if (region.childElementCount) inView(region);
}

export function clearReport(region) {
  region.className = "result";
  region.replaceChildren();
}

function inView(node) {
  const box = node.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) node.scrollIntoView({ block: "nearest" });
}

export function clearErrors() {
  for (const field of FIELDS) showFieldError(field, "");
  showTokenError("");
}

export function showFieldError(field, message) {
  const error = $(`${field}-error`);
  error.textContent = message;
  error.hidden = !message;
  if (message) $(field).setAttribute("aria-invalid", "true");
  else $(field).removeAttribute("aria-invalid");
}

// The token field's error; "" clears it, and the field is no longer marked invalid.
export function showTokenError(message) {
  showFieldError("token", message);
}

export function explain(error) {
  if (error.status === 401) return "No admin token was sent. Enter the token.";
  if (error.status === 403) return "The admin token was refused. Check it and try again; nothing was changed.";
  return `${error.message} (HTTP ${error.status || "error"}). Nothing was changed.`;
}

// Everything but the token form shows only while a token is accepted.
export function showSettings(visible) {
  document.querySelectorAll(".needs-token").forEach((section) => { section.hidden = !visible; });
  $("token-forget").hidden = !visible;
}

// A refused token is the page's (the token form's); any other error goes to the region next to the control.
export function failNextTo(region, error) {
  if (error.status === 401 || error.status === 403) refusedToken(error);
  else report(region, "bad", `${error.message} (HTTP ${error.status || "error"}).`);
}

function refusedToken(error) {
  dropToken();
  showSettings(false);
  clearReport($("token-result"));
  showTokenError(explain(error)); // under the field, which gets the focus: read with it
  $("token").focus();
}

// An error of the webhook form: a field the API names goes under that field, anything else in `region`.
export function fail(error, region) {
  if (error.status === 401 || error.status === 403) {
    refusedToken(error);
  } else if (FIELDS.includes(error.field)) {
    showFieldError(error.field, error.message);
    report(region, "bad", `Refused: ${error.message}. Nothing was changed.`);
    $(error.field).focus();
  } else {
    report(region, "bad", explain(error), error.nothingChanged ? "Nothing was changed." : "");
  }
}

// One button at work: disabled meanwhile, and what goes wrong is shown in the region next to it.
export async function working(button, region, action) {
  clearReport(region);
  const focused = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try { await action(); } catch (error) { failNextTo(region, error); } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    // A disabled button loses the focus: a keyboard user gets it back where they were (unless the row was replaced).
    if (focused && button.isConnected && !button.closest("[hidden]") && document.activeElement === document.body) {
      button.focus();
    }
  }
}
