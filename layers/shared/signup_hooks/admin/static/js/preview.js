// The message template's preview: the same rules as signup_hooks.messages.render.

import { $ } from "./dom.js";
import { showFieldError } from "./status.js";

const PLACEHOLDERS = ["name", "email", "role", "id"]; // as signup_hooks.messages.PLACEHOLDERS
const SAMPLE = { email: "tim@example.com", role: "pending", id: "6f1c2a3e-8b4d-4e2f-9a7b-1c2d3e4f5a6b" };
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const MAX_VALUE_CHARS = 256;

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

export function updatePreview() {
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
