// The endpoint "default" through the single-URL API (/webhook): what is set, save, send a test, clear the URL. Its
// entry is the first of the endpoint list, with this form as its editor.

import { call, token } from "./api.js";
import { $ } from "./dom.js";
import { updatePreview } from "./preview.js";
import { showEndpoints } from "./endpoints.js";
import { refreshHealth } from "./health.js";
import { clearErrors, clearReport, fail, report } from "./status.js";
import { REASONS } from "./words.js";

const SOURCES = {
  parameter: "saved by an administrator",
  environment: "the WEBHOOK_URL fallback of the deployment",
  unset: "not set: no notifications are sent",
};

let state = null; // the last answer of GET/PUT/DELETE
const region = () => $("settings-result"); // where Save, Send test and Clear URL say what happened

function defaultTemplate() {
  return state.message_template ?? state.message_template_default ?? "New user signed up: {name}";
}

export function showState(data) {
  state = data;
  $("current-url").textContent = data.url || "none";
  $("current-source").textContent = SOURCES[data.source] || data.source;
  $("signing-secret").textContent = data.signing_secret === "set" ? "set (never shown)" : "not set";
  $("custom-header").textContent = data.custom_header ? `${data.custom_header.name}: set (never shown)` : "none";
  $("format").value = data.format;
  $("message_template").value = defaultTemplate();
  updatePreview();
}

// Without a token nothing of the settings stays in the page.
export function forgetState() {
  state = null;
}

// What the form changes: the URL when one is entered, format and template when they differ from the saved ones.
function changes() {
  const body = {};
  const url = $("url").value.trim();
  if (url) body.url = url;
  if ($("format").value !== state.format) body.format = $("format").value;
  if ($("message_template").value !== defaultTemplate()) body.message_template = $("message_template").value;
  return body;
}

async function busy(button, action) {
  const buttons = document.querySelectorAll("#settings button");
  const focused = document.activeElement === button;
  buttons.forEach((b) => { b.disabled = true; });
  button.setAttribute("aria-busy", "true");
  clearReport(region());
  try { await action(); } catch (error) { fail(error, region()); } finally {
    buttons.forEach((b) => { b.disabled = false; });
    button.removeAttribute("aria-busy");
    // A disabled button loses the focus: a keyboard user gets it back where they were.
    if (focused && document.activeElement === document.body) button.focus();
  }
}

export async function save(event) {
  event.preventDefault();
  clearErrors();
  const body = changes();
  if (Object.keys(body).length === 0) {
    report(region(), "bad", "Nothing to save: enter a new URL, or change the format or the message template.");
    return;
  }
  await busy($("save"), async () => {
    try { showState(await call("PUT", "/webhook", token(), body)); } catch (error) {
      error.nothingChanged = error.status >= 500; // a save is one write: when it fails, nothing was stored
      throw error;
    }
    $("url").value = "";
    const cleared = state.custom_header_cleared ? " The custom header was cleared: it was saved for another origin." : "";
    await showEndpoints(); // a first save adds the default to the endpoints' API, with its own actions
    report(region(), "ok", `Saved. Notifications go to ${state.url} (${SOURCES[state.source]}).${cleared}`);
  });
}

export async function sendTest() {
  clearErrors();
  await busy($("send-test"), async () => {
    const result = await call("POST", "/webhook/test", token(), changes());
    const where = result.target ? ` to ${result.target}` : "";
    const format = result.format ? `, format ${result.format}` : "";
    const status = result.status ? `HTTP ${result.status}` : "no HTTP answer";
    // The badge shows the health as it is now, not as it was when the page loaded; read before the result shows,
    // so that the buttons are usable again when it does.
    await refreshHealth();
    if (result.delivered) {
      report(region(), "ok", `Test delivered${where}: ${status} in ${result.latency_ms} ms${format}.`);
    } else {
      report(
        region(),
        "bad",
        `Test not delivered${where}: ${status} after ${result.latency_ms} ms${format}.`,
        REASONS[result.reason] || `Reason: ${result.reason}.`,
        result.detail ? `Details: ${result.detail}` : "",
      );
    }
  });
}

export async function clearUrl() {
  clearErrors();
  await busy($("clear"), async () => {
    showState(await call("DELETE", "/webhook", token()));
    await showEndpoints();
    report(
      region(),
      "ok",
      "The saved URL was cleared. Notifications fall back to WEBHOOK_URL.",
      state.source === "environment"
        ? `They now go to the WEBHOOK_URL fallback, ${state.url}.`
        : "No WEBHOOK_URL fallback is set, so no notifications are sent until a URL is saved.",
    );
  });
}
