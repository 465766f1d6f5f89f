// The endpoint form: add an endpoint, or edit the one chosen in the list.

import { $ } from "./dom.js";
import { FieldError, clearReport, showFieldError } from "./status.js";

// The API's field names -> the form's controls, each with its `<id>-error` next to it.
export const ENDPOINT_CONTROLS = { name: "endpoint-name", url: "endpoint-url", events: "endpoint-events", format: "endpoint-format" };
// The endpoint the form changes; null: the form adds one. Importers read it live (an ES module binding).
export let editing = null;

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

export function clearEndpointErrors() {
  for (const control of Object.values(ENDPOINT_CONTROLS)) showFieldError(control, "");
  clearReport($("endpoint-form-result"));
}

// What the form sends: every field when adding; when editing, the URL only when one is typed.
export function endpointBody() {
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

export function resetEndpointForm() {
  editing = null;
  $("endpoint-form").reset();
  $("endpoint-form-heading").textContent = "Add an endpoint";
  $("endpoint-save").textContent = "Add endpoint";
  $("endpoint-cancel").hidden = true;
  clearEndpointErrors();
}

export function editEndpoint(item) {
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

