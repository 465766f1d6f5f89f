// The admin settings page. Plain JS, no framework: it calls the admin API with the token from session storage.
"use strict";

const API = "/api/v1/admin/webhook";
const TOKEN_KEY = "signup-webhooks-admin-token";
const FIELDS = ["url", "format", "message_template"]; // fields the API can name in an error
const PLACEHOLDERS = ["name", "email", "role", "id"]; // as signup_hooks.messages.PLACEHOLDERS
const SAMPLE = { email: "tim@example.com", role: "pending", id: "6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b" };
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const MAX_VALUE_CHARS = 256;

// delivery.Reason codes in the words of the README's troubleshooting guide.
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
const SOURCES = {
  parameter: "saved by an administrator",
  environment: "the WEBHOOK_URL fallback of the deployment",
  unset: "not set: no notifications are sent",
};

const $ = (id) => document.getElementById(id);
let state = null; // the last answer of GET/PUT/DELETE

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
  $("settings").hidden = !visible;
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

async function useToken(event) {
  event.preventDefault();
  clearErrors();
  const candidate = $("token").value.trim();
  if (!candidate) { showTokenError("Enter the admin token."); $("token").focus(); return; }
  try {
    const data = await call("GET", "", candidate);
    sessionStorage.setItem(TOKEN_KEY, candidate); // kept only once the API accepted it
    $("token").value = "";
    showState(data);
    showSettings(true);
    say("ok", "Token accepted. Settings loaded.");
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
    try { showState(await call("PUT", "", token(), body)); } catch (error) {
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
    const result = await call("POST", "/test", token(), changes());
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
    showState(await call("DELETE", "", token()));
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
  if (!token()) { $("token").focus(); return; }
  try {
    showState(await call("GET", "", token()));
    showSettings(true);
  } catch (error) {
    fail(error);
  }
}

document.addEventListener("DOMContentLoaded", start);
