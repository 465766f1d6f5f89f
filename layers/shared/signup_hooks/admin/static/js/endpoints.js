// The endpoints: their list (the default one first, edited by the single-URL form), each entry's actions with its
// result next to them, and saving the endpoint form.

import { call, token } from "./api.js";
import { $, element, facts, plural, resultRegion } from "./dom.js";
import {
  ENDPOINT_CONTROLS, clearEndpointErrors, editEndpoint, editing, endpointBody, resetEndpointForm,
} from "./endpoint-form.js";
import { showNewSecret } from "./secret.js";
import { failNextTo, report, showFieldError, working } from "./status.js";
import { timeNode } from "./times.js";
import { HEALTH, REASONS } from "./words.js";

const ENDPOINTS = "/webhooks";
const DEFAULT = "default";
const names = new Map(); // endpoint id -> name, for the delivery log's entries

function endpointPath(item, action = "") {
  return `${ENDPOINTS}/${encodeURIComponent(item.id)}${action}`;
}

export function endpointName(id) {
  return names.get(id) || id;
}

function eventsText(events) {
  return events.includes("*") ? "every event" : events.join(", ");
}

function healthOf(item) {
  return item.health && Object.hasOwn(HEALTH, item.health.status) ? item.health.status : "unknown";
}

function showBadge(badge, item) {
  const health = healthOf(item);
  badge.className = `badge health ${health}`;
  badge.textContent = health;
  badge.title = HEALTH[health];
}

function secretText(item) {
  if (item.signing_secret !== "set") return "not set";
  if (!item.signing_secret_rotation) return "set (never shown)";
  const text = element("span", "", "set (never shown); the previous one also signs until ");
  text.append(timeNode(item.signing_secret_rotation.previous_until));
  return text;
}

// An entry's buttons, each described by the entry's result region.
function actionButtons(item, actions, region) {
  return actions.map(([label, className, action]) => {
    const button = element("button", className, label);
    button.type = "button";
    button.setAttribute("aria-label", `${label} ${item.name}`);
    button.setAttribute("aria-describedby", region.id);
    button.addEventListener("click", () => action(button));
    return button;
  });
}

function endpointRow(item) {
  const row = element("li", "endpoint");
  row.dataset.endpointId = item.id;
  const head = element("h3", "endpoint-head");
  const badge = element("span");
  showBadge(badge, item);
  head.append(element("span", "endpoint-name", item.name), " ", badge);
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
  if (item.disabled_reason) row.append(goneLine(element("p", "error"), item));
  if (item.problem) row.append(element("p", "error", `Its settings cannot be read (${item.problem}). Delete it and add it again.`));
  const region = resultRegion(`endpoint-result-${item.id}`);
  const secretBox = element("div", "new-secret");
  secretBox.hidden = true;
  const buttons = element("div", "buttons");
  buttons.append(...actionButtons(item, [
    ["Edit", "secondary edit", () => editEndpoint(item)],
    [item.enabled ? "Disable" : "Enable", "secondary toggle", (button) => toggleEndpoint(item, button)],
    ["Send test", "secondary test", (button) => testEndpoint(item, button)],
    ["Rotate secret", "secondary rotate", (button) => rotateSecret(item, button)],
    ["Delete", "danger delete", (button) => deleteEndpoint(item, button)],
  ], region));
  row.append(buttons, region, secretBox);
  return row;
}

// An endpoint its receiver switched off (410 Gone): when, and how it comes back.
function goneLine(node, item) {
  node.replaceChildren("disabled: the receiver answered 410 Gone at ", timeNode(item.disabled_at), ". Enable it, then replay.");
  return Object.assign(node, { hidden: !item.disabled_reason });
}

// The default endpoint's entry is in the page (its form is the single-URL editor); the endpoints' API adds its
// name, events and the actions the single-URL form has not: Disable/Enable and Rotate secret.
function showDefault(item) {
  $("default-name").textContent = item ? item.name : DEFAULT;
  $("default-disabled").hidden = !item || item.enabled;
  goneLine($("default-gone"), item || {});
  $("default-events").textContent = item ? eventsText(item.events) : "user.created";
  if (item) showBadge($("default-health"), item);
  $("default-actions").replaceChildren(...(item ? actionButtons(item, [
    [item.enabled ? "Disable" : "Enable", "secondary toggle", (button) => toggleEndpoint(item, button)],
    ["Rotate secret", "secondary rotate", (button) => rotateSecret(item, button)],
  ], $("settings-result")) : []));
}

// The delivery log's endpoint filter offers the endpoints listed, keeping the one chosen while it exists.
function fillEndpointFilter(items) {
  const select = $("delivery-endpoint");
  const chosen = select.value;
  select.replaceChildren(new Option("all endpoints", ""), ...items.map((item) => new Option(item.name, item.id)));
  select.value = items.some((item) => item.id === chosen) ? chosen : "";
}

// Every entry but the default one, which stays (with whatever is typed or focused in its form).
function dropAddedRows() {
  for (const row of [...$("endpoint-list").children]) if (row.id !== "settings") row.remove();
}

export function forgetEndpoints() {
  dropAddedRows();
  showDefault(null);
  names.clear();
}

async function loadEndpoints() {
  const data = await call("GET", ENDPOINTS, token());
  names.clear();
  for (const item of data.items) names.set(item.id, item.name);
  showDefault(data.items.find((item) => item.id === DEFAULT));
  dropAddedRows();
  $("endpoint-list").append(...data.items.filter((item) => item.id !== DEFAULT).map(endpointRow));
  $("endpoints-count").textContent = `${plural(data.items.length, "endpoint", "endpoints")} of at most ${data.max}.`;
  fillEndpointFilter(data.items);
  $("endpoints-error").replaceChildren();
}

function rowOf(item) {
  if (item.id === DEFAULT) return $("settings");
  return document.querySelector(`#endpoint-list li[data-endpoint-id="${CSS.escape(item.id)}"]`);
}

function regionOf(item) {
  const row = rowOf(item);
  return row && (item.id === DEFAULT ? $("settings-result") : row.querySelector(".result"));
}

// After a change the list is read again; the focus goes back to the same button of the same endpoint, and the
// result goes in the new entry's region once that region is in the page (so that it is announced as a change).
async function reloadEndpoints(item, buttonClass, kind, ...lines) {
  await loadEndpoints();
  const row = rowOf(item);
  if (!row) return;
  if (buttonClass) row.querySelector(`button.${buttonClass}`).focus();
  await new Promise((resolve) => { setTimeout(resolve, 0); });
  report(regionOf(item), kind, ...lines);
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
    report($("endpoint-form-result"), "ok", done);
  } catch (error) {
    const control = ENDPOINT_CONTROLS[error.field];
    if (control) {
      showFieldError(control, error.message);
      $(control).focus();
    } else {
      failNextTo($("endpoint-form-result"), error);
    }
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

async function toggleEndpoint(item, button) {
  await working(button, regionOf(item), async () => {
    await call("PATCH", endpointPath(item), token(), { enabled: !item.enabled });
    await reloadEndpoints(item, "toggle", "ok",
      `${item.name} is ${item.enabled ? "disabled: it receives nothing until enabled" : "enabled"}.`);
  });
}

async function testEndpoint(item, button) {
  const region = regionOf(item);
  await working(button, region, async () => {
    const result = await call("POST", endpointPath(item, "/test"), token());
    const status = result.status ? `HTTP ${result.status}` : "no HTTP answer";
    // The badge shows the health as it is now, not as it was when the list loaded; the entry stays as it is.
    const fresh = await call("GET", endpointPath(item), token());
    item.health = fresh.health;
    showBadge(rowOf(item).querySelector(".badge.health"), fresh);
    if (result.delivered) report(region, "ok", `Test to ${item.name} delivered: ${status} in ${result.latency_ms} ms.`);
    else report(region, "bad", `Test to ${item.name} not delivered: ${status}.`, REASONS[result.reason] || `Reason: ${result.reason}.`);
  });
}

// The only answer that holds a secret: shown once, in this entry, never kept in the page's state.
async function rotateSecret(item, button) {
  await working(button, regionOf(item), async () => {
    const rotated = await call("POST", endpointPath(item, "/rotate-secret"), token());
    await reloadEndpoints(item, "rotate", "ok", `${item.name} has a new signing secret. Copy it now: it is not shown again.`);
    const row = rowOf(item);
    if (!row) return;
    const box = item.id === DEFAULT ? $("default-secret") : row.querySelector(".new-secret");
    showNewSecret(box, item, rotated);
  });
}

async function deleteEndpoint(item, button) {
  if (!window.confirm(`Delete the endpoint ${item.name}? It stops receiving events at once.`)) return;
  await working(button, regionOf(item), async () => {
    await call("DELETE", endpointPath(item), token());
    if (editing && editing.id === item.id) resetEndpointForm();
    await loadEndpoints();
    report($("endpoints-result"), "ok", `Deleted the endpoint ${item.name}.`);
    $("endpoints-result").focus(); // the entry and its buttons are gone: the focus goes to what replaced them
  });
}

export async function showEndpoints() {
  try { await loadEndpoints(); } catch (error) { failNextTo($("endpoints-error"), error); }
}
