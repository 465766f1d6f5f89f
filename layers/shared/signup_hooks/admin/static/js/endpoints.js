// The endpoints: their list, each row's actions, and saving the endpoint form.

import { call, token } from "./api.js";
import { $, element, facts, plural } from "./dom.js";
import {
  ENDPOINT_CONTROLS, clearEndpointErrors, editEndpoint, editing, endpointBody, resetEndpointForm,
} from "./endpoint-form.js";
import { failNextTo, say, showError, showFieldError, working } from "./status.js";
import { timeNode } from "./times.js";
import { HEALTH, REASONS } from "./words.js";

const ENDPOINTS = "/webhooks";

function endpointPath(item, action = "") {
  return `${ENDPOINTS}/${encodeURIComponent(item.id)}${action}`;
}

function eventsText(events) {
  return events.includes("*") ? "every event" : events.join(", ");
}

function secretText(item) {
  if (item.signing_secret !== "set") return "not set";
  if (!item.signing_secret_rotation) return "set (never shown)";
  const text = element("span", "", "set (never shown); the previous one also signs until ");
  text.append(timeNode(item.signing_secret_rotation.previous_until));
  return text;
}

function endpointRow(item) {
  const health = item.health && Object.hasOwn(HEALTH, item.health.status) ? item.health.status : "unknown";
  const row = element("li", "endpoint");
  row.dataset.endpointId = item.id;
  const head = element("p", "endpoint-head");
  head.append(element("span", "endpoint-name", item.name), " ", element("span", `badge health ${health}`, health));
  if (!item.enabled) head.append(" ", element("span", "badge disabled", "disabled"));
  row.append(
    head,
    facts([
      ["URL", item.url || "not set"],
      ["Events", eventsText(item.events)],
      ["Enabled", item.enabled ? "yes" : "no: receives nothing"],
      ["Format", item.format],
      ["Signing secret", secretText(item)],
    ]),
  );
  if (item.problem) row.append(element("p", "error", `Its settings cannot be read (${item.problem}). Delete it and add it again.`));
  const error = element("p", "error");
  error.hidden = true;
  error.id = `endpoint-error-${item.id}`;
  const secretBox = element("div", "new-secret");
  secretBox.hidden = true;
  const buttons = element("div", "buttons");
  const actions = [
    ["Edit", "secondary edit", () => editEndpoint(item)],
    [item.enabled ? "Disable" : "Enable", "secondary toggle", (button) => toggleEndpoint(item, button, error)],
    ["Send test", "secondary test", (button) => testEndpoint(item, button, error)],
    ["Rotate secret", "secondary rotate", (button) => rotateSecret(item, button, error)],
    ["Delete", "danger delete", (button) => deleteEndpoint(item, button, error)],
  ];
  for (const [label, className, action] of actions) {
    const button = element("button", className, label);
    button.type = "button";
    button.setAttribute("aria-label", `${label} ${item.name}`);
    button.setAttribute("aria-describedby", error.id);
    button.addEventListener("click", () => action(button));
    buttons.append(button);
  }
  row.append(buttons, error, secretBox);
  return row;
}

// The delivery log's endpoint filter offers the endpoints listed, keeping the one chosen while it exists.
function fillEndpointFilter(items) {
  const select = $("delivery-endpoint");
  const chosen = select.value;
  select.replaceChildren(new Option("all endpoints", ""), ...items.map((item) => new Option(item.name, item.id)));
  select.value = items.some((item) => item.id === chosen) ? chosen : "";
}

async function loadEndpoints() {
  const data = await call("GET", ENDPOINTS, token());
  $("endpoint-list").replaceChildren(...data.items.map(endpointRow));
  $("endpoints-count").textContent = `${plural(data.items.length, "endpoint", "endpoints")} of at most ${data.max}.`;
  fillEndpointFilter(data.items);
  showError($("endpoints-error"), "");
}

function rowOf(item) {
  return document.querySelector(`#endpoint-list li[data-endpoint-id="${CSS.escape(item.id)}"]`);
}

// After a change the list is read again; the focus goes back to the same button of the same endpoint.
async function reloadEndpoints(item, buttonClass) {
  await loadEndpoints();
  const row = item && rowOf(item);
  if (row && buttonClass) row.querySelector(`button.${buttonClass}`).focus();
}

export async function saveEndpoint(event) {
  event.preventDefault();
  clearEndpointErrors();
  let body;
  try { body = endpointBody(); } catch (error) {
    showFieldError(error.field, error.message);
    $(error.field).focus();
    return;
  }
  const button = $("endpoint-save");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const saved = editing
      ? await call("PATCH", endpointPath(editing), token(), body)
      : await call("POST", ENDPOINTS, token(), body);
    const cleared = saved.custom_header_cleared ? " Its custom header was cleared: it was saved for another origin." : "";
    const done = `${editing ? "Saved" : "Added"} the endpoint ${saved.name}: ${saved.url}.${cleared}`;
    resetEndpointForm();
    await loadEndpoints();
    say("ok", done);
  } catch (error) {
    const control = ENDPOINT_CONTROLS[error.field];
    if (control) {
      showFieldError(control, error.message);
      $(control).focus();
    } else {
      failNextTo($("endpoint-form-error"), error);
    }
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

async function toggleEndpoint(item, button, error) {
  await working(button, error, async () => {
    await call("PATCH", endpointPath(item), token(), { enabled: !item.enabled });
    await reloadEndpoints(item, "toggle");
    say("ok", `${item.name} is ${item.enabled ? "disabled: it receives nothing until enabled" : "enabled"}.`);
  });
}

async function testEndpoint(item, button, error) {
  await working(button, error, async () => {
    const result = await call("POST", endpointPath(item, "/test"), token());
    const status = result.status ? `HTTP ${result.status}` : "no HTTP answer";
    if (result.delivered) say("ok", `Test to ${item.name} delivered: ${status} in ${result.latency_ms} ms.`);
    else say("bad", `Test to ${item.name} not delivered: ${status}.`, REASONS[result.reason] || `Reason: ${result.reason}.`);
  });
}

// The only answer that holds a secret: shown once, in this row, never kept in the page's state.
async function rotateSecret(item, button, error) {
  await working(button, error, async () => {
    const rotated = await call("POST", endpointPath(item, "/rotate-secret"), token());
    await reloadEndpoints(item, "rotate"); // the row now says until when the previous secret signs
    const row = rowOf(item);
    if (!row) return;
    const box = row.querySelector(".new-secret");
    const id = `new-secret-${item.id}`;
    const label = element("label", "", `New signing secret of ${item.name}`);
    label.htmlFor = id;
    const field = element("input", "secret-value");
    Object.assign(field, { id, type: "text", readOnly: true, value: rotated.signing_secret, spellcheck: false });
    field.setAttribute("autocomplete", "off");
    field.addEventListener("focus", () => field.select());
    const until = rotated.previous_until
      ? element("p", "help", "The previous secret also signs requests until ")
      : element("p", "help", "There was no previous secret.");
    if (rotated.previous_until) until.append(timeNode(rotated.previous_until), ": give the receiver the new one before then.");
    const hint = element("p", "help copy-hint", "Copy it now (select it, then Ctrl+C or ⌘C): it is shown only this once.");
    box.replaceChildren(label, field, hint, until);
    box.hidden = false;
    field.focus();
    say("ok", `${item.name} has a new signing secret. Copy it now: it is not shown again.`);
  });
}

async function deleteEndpoint(item, button, error) {
  const what = item.id === "default"
    ? `Clear every setting of ${item.name}? WEBHOOK_URL, if the deployment sets it, still applies.`
    : `Delete the endpoint ${item.name}? It stops receiving events at once.`;
  if (!window.confirm(what)) return;
  await working(button, error, async () => {
    await call("DELETE", endpointPath(item), token());
    if (editing && editing.id === item.id) resetEndpointForm();
    await loadEndpoints();
    say("ok", `Deleted the endpoint ${item.name}.`);
    $("endpoint-name").focus();
  });
}

export async function showEndpoints() {
  try { await loadEndpoints(); } catch (error) { failNextTo($("endpoints-error"), error); }
}

