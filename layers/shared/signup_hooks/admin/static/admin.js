// The admin settings page: settings, health, delivery log and replays. Plain JS, no framework: it calls the admin
// API with the token from session storage, and shows what comes back as text only.
"use strict";

const API = "/api/v1/admin"; // the single-URL API is /webhook (the endpoint "default"), the endpoints /webhooks
const TOKEN_KEY = "signup-webhooks-admin-token";
const FIELDS = ["url", "format", "message_template"]; // fields the API can name in an error
const PLACEHOLDERS = ["name", "email", "role", "id"]; // as signup_hooks.messages.PLACEHOLDERS
const SAMPLE = { email: "tim@example.com", role: "pending", id: "6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b" };
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const MAX_VALUE_CHARS = 256;

// results.Reason codes in the words of the README's troubleshooting guide.
const REASONS = {
  not_configured: "No webhook URL is set, and there is no WEBHOOK_URL fallback. Save a URL first.",
  invalid_url: "The URL is wrong or badly formatted. Enter it again.",
  blocked_target: "The URL points to an address that is not allowed (loopback, private network, link-local or cloud metadata). Use a public https:// URL.",
  dns_failure: "The receiver's host name does not resolve. Check the URL, and that the host is reachable (VPC, firewall or proxy).",
  connection_refused: "The receiver refused the connection: it is down, or a firewall or proxy is in the way.",
  connect_timeout: "No connection to the receiver in time: it is down, or a firewall or proxy is in the way.",
  tls_error: "The secure (TLS) connection to the receiver failed: check its certificate, or a proxy in the way.",
  read_timeout: "The receiver did not answer in time: it is temporarily unavailable or slow. This usually passes.",
  network_error: "The connection to the receiver broke: the receiver is down, or a firewall or proxy is in the way.",
  redirect: "The URL moved (redirects are never followed). Set the new URL.",
  auth_rejected: "The receiver refused the request: the webhook was revoked, or its key is invalid or expired. Create a new webhook in the receiving service and set its URL.",
  not_found: "The receiver does not know this webhook: it was deleted or revoked. Create a new webhook in the receiving service and set its URL.",
  rate_limited: "The receiving service is throttling requests. Spread signups or use a receiver with a higher limit.",
  client_error: "The receiver rejected the request. Check that the format matches the receiving service.",
  server_error: "The receiver had an error: it is temporarily unavailable. This usually passes.",
};
const HEALTH = {
  healthy: "The last delivery succeeded.",
  failing: "The last delivery failed. Notifications wait in the retry schedule, then as dead letters: nothing is dropped.",
  unknown: "No delivery has succeeded yet.",
};
const DELIVERY_STATUSES = ["delivered", "retrying", "failed", "skipped"];
const TRIGGERS = {
  stream: "first try",
  schedule: "retry schedule",
  resend: "resend",
  replay: "replay",
  redrive: "dead-letter replay",
};
const PAGE_SIZE = 20;
const SOURCES = {
  parameter: "saved by an administrator",
  environment: "the WEBHOOK_URL fallback of the deployment",
  unset: "not set: no notifications are sent",
};

const $ = (id) => document.getElementById(id);
let state = null; // the last answer of GET/PUT/DELETE
let deliveriesCursor = null; // where the next page of the delivery log starts
let replayNext = null; // the window and cursor a "Continue replay" sends

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || (body && body.message) || `the server answered ${status}`);
    this.status = status;
    this.field = body && body.field;
  }
}

async function call(method, path, token, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, { detail: "The admin API cannot be reached. Check your connection and try again." });
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ---- messages -----------------------------------------------------------------------------------------------------

function say(kind, ...lines) {
  const box = $("status");
  box.className = `status ${kind}`;
  box.replaceChildren(...lines.filter(Boolean).map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
}

function clearErrors() {
  for (const field of FIELDS) showFieldError(field, "");
  $("token-error").hidden = true;
}

function showFieldError(field, message) {
  const error = $(`${field}-error`);
  error.textContent = message;
  error.hidden = !message;
  if (message) $(field).setAttribute("aria-invalid", "true");
  else $(field).removeAttribute("aria-invalid");
}

function showTokenError(message) {
  $("token-error").textContent = message;
  $("token-error").hidden = false;
  $("token").setAttribute("aria-invalid", "true");
}

function explain(error) {
  if (error.status === 401) return "No admin token was sent. Enter the token.";
  if (error.status === 403) return "The admin token was refused. Check it and try again; nothing was changed.";
  return `${error.message} (HTTP ${error.status || "error"}). Nothing was changed.`;
}

// An error of one control (a row's Resend, a replay) goes next to that control; a refused token is the page's.
function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

function failNextTo(element, error) {
  if (error.status === 401 || error.status === 403) fail(error);
  else showError(element, `${error.message} (HTTP ${error.status || "error"}).`);
}

function fail(error) {
  if (error.status === 401 || error.status === 403) {
    sessionStorage.removeItem(TOKEN_KEY);
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

// ---- preview: the same rules as signup_hooks.messages.render --------------------------------------------------------

function cleanValue(value) {
  const text = value.replace(BIDI_CONTROLS, "").replace(/\p{Cc}/gu, " ").trim();
  const chars = Array.from(text);
  return chars.length <= MAX_VALUE_CHARS ? text : `${chars.slice(0, MAX_VALUE_CHARS - 1).join("")}…`;
}

function render(template, values) {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if ((ch === "{" || ch === "}") && template[i + 1] === ch) { out += ch; i++; continue; }
    if (ch === "}") throw new Error("a single } needs to be written }}");
    if (ch !== "{") { out += ch; continue; }
    const end = template.indexOf("}", i);
    if (end < 0) throw new Error("a { has no closing }");
    const field = template.slice(i + 1, end);
    const name = field.split(/[:!]/)[0];
    if (!PLACEHOLDERS.includes(name)) throw new Error(`unknown placeholder {${field}}; use {name}, {email}, {role} or {id}`);
    if (name !== field) throw new Error(`placeholder {${name}} takes no format spec or conversion`);
    out += values[name];
    i = end;
  }
  return out;
}

function updatePreview() {
  const template = $("message_template").value;
  const values = { ...SAMPLE, name: $("sample-name").value };
  for (const key of Object.keys(values)) values[key] = cleanValue(values[key]);
  try {
    if (!template) throw new Error("the message template cannot be empty");
    $("preview").textContent = render(template, values);
    showFieldError("message_template", "");
  } catch (error) {
    $("preview").textContent = "";
    showFieldError("message_template", error.message);
  }
}

// ---- the settings ---------------------------------------------------------------------------------------------------

function defaultTemplate() {
  return state.message_template ?? state.message_template_default ?? "New user signed up: {name}";
}

function showState(data) {
  state = data;
  $("current-url").textContent = data.url || "none";
  $("current-source").textContent = SOURCES[data.source] || data.source;
  $("signing-secret").textContent = data.signing_secret === "set" ? "set (never shown)" : "not set";
  $("custom-header").textContent = data.custom_header ? `${data.custom_header.name}: set (never shown)` : "none";
  $("format").value = data.format;
  $("message_template").value = defaultTemplate();
  updatePreview();
}

function showSettings(visible) {
  document.querySelectorAll(".needs-token").forEach((section) => { section.hidden = !visible; });
  $("token-forget").hidden = !visible;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
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
  buttons.forEach((b) => { b.disabled = true; });
  button.setAttribute("aria-busy", "true");
  try { await action(); } catch (error) { fail(error); } finally {
    buttons.forEach((b) => { b.disabled = false; });
    button.removeAttribute("aria-busy");
  }
}

// ---- times ---------------------------------------------------------------------------------------------------------

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

function relative(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const [unit, size] = UNITS.find(([, length]) => Math.abs(seconds) >= length) || ["second", 1];
  return RELATIVE.format(Math.round(seconds / size), unit);
}

// An API time (ISO 8601) as "31 Jan 2026, 09:00:00 (5 minutes ago)" in the browser's time zone; `none` when null.
function timeNode(iso, none = "–") {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return document.createTextNode(iso || none);
  const node = document.createElement("time");
  node.dateTime = iso;
  node.textContent = `${TIME.format(date)} (${relative(date)})`;
  return node;
}

function showTime(id, iso, none) {
  $(id).replaceChildren(timeNode(iso, none));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

// ---- health ---------------------------------------------------------------------------------------------------------

function showHealth(health) {
  if (!health) return;
  const status = Object.hasOwn(HEALTH, health.status) ? health.status : "unknown";
  $("health-badge").className = `badge ${status}`;
  $("health-badge").textContent = status;
  $("health-summary").textContent = HEALTH[status];
  showTime("health-last-success", health.last_success_at, "never");
  showTime("health-last-failure", health.last_failure_at, "never");
  showTime("health-failing-since", health.failing_since, "not failing");
  $("health-consecutive").textContent = String(health.consecutive_failures ?? 0);
  $("health-retrying").textContent = plural(health.retrying ?? 0, "notification", "notifications");
  $("health-dead-letters").textContent = `${plural(health.dead_letters ?? 0, "notification", "notifications")} (approximate)`;
}

async function refreshHealth() {
  showHealth((await call("GET", "/webhook", token())).health);
}

// ---- the delivery log -----------------------------------------------------------------------------------------------

function words(code) {
  return String(code).replaceAll("_", " ");
}

function lastReason(item) {
  if (!item.last_reason) return "none";
  const attempt = [...(item.attempts || [])].reverse().find((a) => a.reason === item.last_reason);
  return attempt && attempt.status ? `${words(item.last_reason)} (HTTP ${attempt.status})` : words(item.last_reason);
}

function attemptLine(attempt) {
  const li = element("li");
  const answer = attempt.status ? `HTTP ${attempt.status}` : "no HTTP answer";
  const outcome = attempt.reason ? `${answer}, ${words(attempt.reason)}` : `${answer}, delivered`;
  li.append(
    timeNode(attempt.at),
    ` · ${TRIGGERS[attempt.trigger] || words(attempt.trigger)} · ${outcome} · ${attempt.latency_ms} ms`,
  );
  return li;
}

function facts(pairs) {
  const dl = element("dl", "state");
  for (const [term, value] of pairs) {
    const dd = element("dd");
    dd.append(value);
    dl.append(element("dt", "", term), dd);
  }
  return dl;
}

function deliveryRow(item) {
  const status = DELIVERY_STATUSES.includes(item.status) ? item.status : "unknown";
  const name = (item.user && item.user.name) || "(no name)";
  const row = element("li", "delivery");
  row.dataset.deliveryId = item.id;
  const head = element("p", "delivery-head");
  head.append(element("span", `badge ${status}`, item.status), " ", element("span", "delivery-user", name));
  const next = item.next_attempt_at ? timeNode(item.next_attempt_at) : document.createTextNode("none");
  row.append(
    head,
    facts([
      ["Attempts", String(item.attempt_count ?? 0)],
      ["Last reason", lastReason(item)],
      ["Next attempt", next],
      ["Logged", timeNode(item.created_at)],
      ["Receiver", `${item.target_host || "–"} (${item.format || "–"})`],
    ]),
  );
  if (item.last_reason && item.status !== "delivered" && REASONS[item.last_reason]) {
    row.append(element("p", "help", REASONS[item.last_reason]));
  }
  if (item.attempts && item.attempts.length) {
    const details = element("details");
    const list = element("ol", "attempts");
    list.append(...item.attempts.map(attemptLine));
    details.append(element("summary", "", `Attempt history (webhook id ${item.webhook_id})`), list);
    row.append(details);
  }
  const buttons = element("div", "buttons");
  const button = element("button", "secondary resend", "Resend");
  button.type = "button";
  button.setAttribute("aria-label", `Resend the notification about ${name}`);
  const error = element("p", "error");
  error.hidden = true;
  error.id = `resend-error-${item.id}`;
  button.setAttribute("aria-describedby", error.id);
  button.addEventListener("click", () => resend(item, row, button, error));
  buttons.append(button);
  row.append(buttons, error);
  return row;
}

function showCount() {
  const shown = $("delivery-list").children.length;
  const more = deliveriesCursor ? ", more with the More button" : "";
  $("deliveries-count").textContent = shown
    ? `${plural(shown, "delivery", "deliveries")} shown${more}.`
    : "No deliveries to show.";
}

async function loadDeliveries(append = false) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if ($("delivery-status").value) params.set("status", $("delivery-status").value);
  if ($("delivery-endpoint").value) params.set("endpoint", $("delivery-endpoint").value);
  if (append && deliveriesCursor) params.set("cursor", deliveriesCursor);
  const data = await call("GET", `/webhook/deliveries?${params}`, token());
  const rows = data.items.map(deliveryRow);
  if (append) $("delivery-list").append(...rows);
  else $("delivery-list").replaceChildren(...rows);
  deliveriesCursor = data.cursor || null;
  $("deliveries-more").hidden = !deliveriesCursor;
  showError($("deliveries-error"), "");
  showCount();
  return rows;
}

// One button at work: disabled meanwhile, and what goes wrong is shown next to it.
async function working(button, errorElement, action) {
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

// The filter is never disabled while the list loads, so it keeps the focus for the next arrow key.
async function showDeliveries() {
  try { await loadDeliveries(false); } catch (error) { failNextTo($("deliveries-error"), error); }
}

async function moreDeliveries() {
  await working($("deliveries-more"), $("deliveries-error"), async () => {
    const rows = await loadDeliveries(true);
    if (!deliveriesCursor && rows.length) rows[0].querySelector("button").focus(); // More is gone: go to the new rows
  });
}

async function refresh() {
  await working($("refresh"), $("deliveries-error"), async () => {
    await refreshHealth();
    await loadDeliveries(false);
    say("ok", "Health and deliveries refreshed.");
  });
}

// Health and the first page of the log once the token is accepted; an error here leaves the settings usable.
async function loadLog() {
  await working($("refresh"), $("deliveries-error"), () => loadDeliveries(false));
}

async function resend(item, row, button, error) {
  await working(button, error, async () => {
    const updated = await call("POST", `/webhook/deliveries/${encodeURIComponent(item.id)}/resend`, token());
    const fresh = deliveryRow(updated);
    row.replaceWith(fresh);
    fresh.querySelector("button.resend").focus();
    const name = (updated.user && updated.user.name) || "the user";
    const last = updated.attempts && updated.attempts[updated.attempts.length - 1];
    if (last && !last.reason) {
      say("ok", `Resent the notification about ${name}: delivered.`);
    } else {
      say("bad", `Resent the notification about ${name}: not delivered (${lastReason(updated)}).`,
        REASONS[updated.last_reason] || "");
    }
    await refreshHealth();
  });
}

// ---- replays --------------------------------------------------------------------------------------------------------

async function redriveDeadLetters() {
  $("redrive-result").textContent = "";
  await working($("redrive"), $("redrive-error"), async () => {
    const r = await call("POST", "/webhook/redrive", token());
    const lines = r.messages === 0 && !r.unreadable
      ? ["There were no dead letters to replay."]
      : [
        `Dead letters replayed: ${r.delivered} delivered, ${r.already_delivered} already delivered, ${r.still_failing} still failing.`,
        r.unreadable ? `${plural(r.unreadable, "message was", "messages were")} unreadable and kept.` : "",
        r.more ? "More dead letters remain: press the button again." : "",
      ];
    $("redrive-result").textContent = lines.filter(Boolean).join(" ");
    await refreshHealth();
    await loadDeliveries(false);
  });
}

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// A datetime-local value is the browser's local time; the API takes ISO 8601, sent in UTC.
function isoOf(field) {
  const value = $(field).value;
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new FieldError(field, `${field} is not a date and time`);
  return date.toISOString();
}

function replayWindow() {
  const since = isoOf("since");
  if (!since) throw new FieldError("since", "Enter the time to replay from.");
  const until = isoOf("until");
  if (until && until < since) throw new FieldError("until", "Until must not be before since.");
  return until ? { since, until } : { since };
}

function clearReplayErrors() {
  for (const field of ["since", "until"]) showFieldError(field, "");
  showError($("replay-error"), "");
}

async function sendReplay(button, body) {
  clearReplayErrors();
  $("replay-result").textContent = "";
  const focused = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const r = await call("POST", "/webhook/replay", token(), body);
    replayNext = r.cursor ? { ...body, cursor: r.cursor } : null;
    $("replay-continue").hidden = !replayNext;
    $("replay-result").textContent = [
      `${plural(r.users, "user was", "users were")} created in the window: ${r.queued} queued for delivery,`,
      `${r.already_delivered} already delivered, ${r.skipped} skipped (already waiting in the retry schedule).`,
      r.cursor ? "More users remain: press Continue replay." : "",
    ].filter(Boolean).join(" ");
    await refreshHealth();
    await loadDeliveries(false);
  } catch (error) {
    if (error.field === "since" || error.field === "until") {
      showFieldError(error.field, error.message);
      $(error.field).focus();
    } else {
      failNextTo($("replay-error"), error);
    }
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (focused && !button.hidden && document.activeElement === document.body) button.focus();
  }
}

async function replaySince(event) {
  event.preventDefault();
  clearReplayErrors();
  let body;
  try {
    body = replayWindow();
  } catch (error) {
    showFieldError(error.field, error.message);
    $(error.field).focus();
    return;
  }
  await sendReplay($("replay-since"), body);
}

async function continueReplay() {
  if (replayNext) await sendReplay($("replay-continue"), replayNext);
}

// ---- endpoints ----------------------------------------------------------------------------------------------------

const ENDPOINTS = "/webhooks";
// The API's field names -> the form's controls, each with its `<id>-error` next to it.
const ENDPOINT_CONTROLS = { name: "endpoint-name", url: "endpoint-url", events: "endpoint-events", format: "endpoint-format" };
let editing = null; // the endpoint the form changes; null: the form adds one

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

function checkedEvents() {
  const boxes = [...document.querySelectorAll('#endpoint-events input[type="checkbox"]')];
  if ($("endpoint-event-all").checked) return ["*"];
  return boxes.filter((box) => box.checked && box.value !== "*").map((box) => box.value);
}

function showEvents(events) {
  for (const box of document.querySelectorAll('#endpoint-events input[type="checkbox"]')) {
    box.checked = events.includes(box.value);
  }
}

function clearEndpointErrors() {
  for (const control of Object.values(ENDPOINT_CONTROLS)) showFieldError(control, "");
  showError($("endpoint-form-error"), "");
}

// What the form sends: every field when adding; when editing, the URL only when one is typed.
function endpointBody() {
  const events = checkedEvents();
  if (!events.length) throw new FieldError("endpoint-events", "Choose at least one event.");
  const body = { events, format: $("endpoint-format").value, enabled: $("endpoint-enabled").checked };
  const name = $("endpoint-name").value.trim();
  if (name || editing) body.name = name || null;
  const url = $("endpoint-url").value.trim();
  if (url) body.url = url;
  else if (!editing) throw new FieldError("endpoint-url", "Enter the endpoint's URL.");
  return body;
}

function resetEndpointForm() {
  editing = null;
  $("endpoint-form").reset();
  $("endpoint-form-heading").textContent = "Add an endpoint";
  $("endpoint-save").textContent = "Add endpoint";
  $("endpoint-cancel").hidden = true;
  clearEndpointErrors();
}

function editEndpoint(item) {
  resetEndpointForm();
  editing = item;
  $("endpoint-form-heading").textContent = `Edit ${item.name}`;
  $("endpoint-save").textContent = "Save endpoint";
  $("endpoint-cancel").hidden = false;
  $("endpoint-name").value = item.name;
  $("endpoint-format").value = item.format;
  $("endpoint-enabled").checked = item.enabled;
  showEvents(item.events);
  $("endpoint-name").focus();
}

async function saveEndpoint(event) {
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

async function showEndpoints() {
  try { await loadEndpoints(); } catch (error) { failNextTo($("endpoints-error"), error); }
}

// ---- the token ------------------------------------------------------------------------------------------------------

async function useToken(event) {
  event.preventDefault();
  clearErrors();
  const candidate = $("token").value.trim();
  if (!candidate) { showTokenError("Enter the admin token."); $("token").focus(); return; }
  try {
    const data = await call("GET", "/webhook", candidate);
    sessionStorage.setItem(TOKEN_KEY, candidate); // kept only once the API accepted it
    $("token").value = "";
    showState(data);
    showHealth(data.health);
    showSettings(true);
    say("ok", "Token accepted. Settings loaded.");
    await showEndpoints();
    await loadLog();
  } catch (error) {
    showTokenError(explain(error));
    say("bad", explain(error));
    $("token").focus();
  }
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  state = null;
  showSettings(false);
  $("delivery-list").replaceChildren(); // nothing of the log or the endpoints stays in the page without a token
  $("endpoint-list").replaceChildren();
  resetEndpointForm();
  say("ok", "The token was removed from this tab.");
  $("token").focus();
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const body = changes();
  if (Object.keys(body).length === 0) {
    say("bad", "Nothing to save: enter a new URL, or change the format or the message template.");
    return;
  }
  await busy($("save"), async () => {
    try { showState(await call("PUT", "/webhook", token(), body)); } catch (error) {
      error.nothingChanged = error.status >= 500; // a save is one write: when it fails, nothing was stored
      throw error;
    }
    $("url").value = "";
    const cleared = state.custom_header_cleared ? " The custom header was cleared: it was saved for another origin." : "";
    say("ok", `Saved. Notifications go to ${state.url} (${SOURCES[state.source]}).${cleared}`);
  });
}

async function sendTest() {
  clearErrors();
  await busy($("send-test"), async () => {
    const result = await call("POST", "/webhook/test", token(), changes());
    const where = result.target ? ` to ${result.target}` : "";
    const format = result.format ? `, format ${result.format}` : "";
    const status = result.status ? `HTTP ${result.status}` : "no HTTP answer";
    if (result.delivered) {
      say("ok", `Test delivered${where}: ${status} in ${result.latency_ms} ms${format}.`);
    } else {
      say(
        "bad",
        `Test not delivered${where}: ${status} after ${result.latency_ms} ms${format}.`,
        REASONS[result.reason] || `Reason: ${result.reason}.`,
        result.detail ? `Details: ${result.detail}` : "",
      );
    }
  });
}

async function clearUrl() {
  clearErrors();
  await busy($("clear"), async () => {
    showState(await call("DELETE", "/webhook", token()));
    say(
      "ok",
      "The saved URL was cleared. Notifications fall back to WEBHOOK_URL.",
      state.source === "environment"
        ? `They now go to the WEBHOOK_URL fallback, ${state.url}.`
        : "No WEBHOOK_URL fallback is set, so no notifications are sent until a URL is saved.",
    );
  });
}

async function start() {
  $("token-form").addEventListener("submit", useToken);
  $("token-forget").addEventListener("click", forgetToken);
  $("settings-form").addEventListener("submit", save);
  $("send-test").addEventListener("click", sendTest);
  $("clear").addEventListener("click", clearUrl);
  $("message_template").addEventListener("input", updatePreview);
  $("sample-name").addEventListener("input", updatePreview);
  $("refresh").addEventListener("click", refresh);
  $("delivery-status").addEventListener("change", showDeliveries);
  $("deliveries-more").addEventListener("click", moreDeliveries);
  $("redrive").addEventListener("click", redriveDeadLetters);
  $("replay-form").addEventListener("submit", replaySince);
  $("replay-continue").addEventListener("click", continueReplay);
  // One list of formats in the page: the endpoint form offers the webhook form's.
  $("endpoint-format").replaceChildren(...[...$("format").options].map((option) => option.cloneNode(true)));
  $("endpoint-form").addEventListener("submit", saveEndpoint);
  $("endpoint-cancel").addEventListener("click", resetEndpointForm);
  $("delivery-endpoint").addEventListener("change", showDeliveries);
  if (!token()) { $("token").focus(); return; }
  try {
    const data = await call("GET", "/webhook", token());
    showState(data);
    showHealth(data.health);
    showSettings(true);
  } catch (error) {
    fail(error);
    return;
  }
  await showEndpoints();
  await loadLog();
}

document.addEventListener("DOMContentLoaded", start);
