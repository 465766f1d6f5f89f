// The status box and the errors: what the page says, where it says it, and what a refused token does.

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

export function say(kind, ...lines) {
  const box = $("status");
  box.className = `status ${kind}`;
  box.replaceChildren(...lines.filter(Boolean).map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
}

export function clearErrors() {
  for (const field of FIELDS) showFieldError(field, "");
  $("token-error").hidden = true;
}

export function showFieldError(field, message) {
  const error = $(`${field}-error`);
  error.textContent = message;
  error.hidden = !message;
  if (message) $(field).setAttribute("aria-invalid", "true");
  else $(field).removeAttribute("aria-invalid");
}

export function showTokenError(message) {
  $("token-error").textContent = message;
  $("token-error").hidden = false;
  $("token").setAttribute("aria-invalid", "true");
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

// An error of one control (a row's Resend, a replay) goes next to that control; a refused token is the page's.
export function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

export function failNextTo(element, error) {
  if (error.status === 401 || error.status === 403) fail(error);
  else showError(element, `${error.message} (HTTP ${error.status || "error"}).`);
}

export function fail(error) {
  if (error.status === 401 || error.status === 403) {
    dropToken();
    showSettings(false);
    showTokenError(explain(error));
    say("bad", explain(error));
    $("token").focus();
  } else if (FIELDS.includes(error.field)) {
    showFieldError(error.field, error.message);
    say("bad", `Refused: ${error.message}. Nothing was changed.`);
    $(error.field).focus();
  } else {
    say("bad", explain(error), error.nothingChanged ? "Nothing was changed." : "");
  }
}

// One button at work: disabled meanwhile, and what goes wrong is shown next to it.
export async function working(button, errorElement, action) {
  showError(errorElement, "");
  const focused = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try { await action(); } catch (error) { failNextTo(errorElement, error); } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    // A disabled button loses the focus: a keyboard user gets it back where they were (unless the row was replaced).
    if (focused && button.isConnected && !button.closest("[hidden]") && document.activeElement === document.body) {
      button.focus();
    }
  }
}
