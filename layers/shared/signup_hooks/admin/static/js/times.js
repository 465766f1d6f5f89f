// API times (ISO 8601, UTC) shown in the browser's time zone, with how long ago.

import { $ } from "./dom.js";

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

function relative(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const [unit, size] = UNITS.find(([, length]) => Math.abs(seconds) >= length) || ["second", 1];
  return RELATIVE.format(Math.round(seconds / size), unit);
}

// An API time (ISO 8601) as "31 Jan 2026, 09:00:00 (5 minutes ago)" in the browser's time zone; `none` when null.
export function timeNode(iso, none = "–") {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return document.createTextNode(iso || none);
  const node = document.createElement("time");
  node.dateTime = iso;
  node.textContent = `${TIME.format(date)} (${relative(date)})`;
  return node;
}

export function showTime(id, iso, none) {
  $(id).replaceChildren(timeNode(iso, none));
}
