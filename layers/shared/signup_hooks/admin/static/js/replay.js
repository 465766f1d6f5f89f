// Replays: the dead letters, and every user of a time window whose notification was not delivered.

import { call, token } from "./api.js";
import { $, plural } from "./dom.js";
import { loadDeliveries } from "./deliveries.js";
import { refreshHealth } from "./health.js";
import { FieldError, clearReport, failNextTo, report, showFieldError, working } from "./status.js";

let replayNext = null; // the window and cursor a "Continue replay" sends

export async function redriveDeadLetters() {
  await working($("redrive"), $("redrive-result"), async () => {
    const r = await call("POST", "/webhook/redrive", token());
    const lines = r.messages === 0 && !r.unreadable
      ? ["There were no dead letters to replay."]
      : [
        `Dead letters replayed: ${r.delivered} delivered, ${r.already_delivered} already delivered, ${r.still_failing} still failing.`,
        r.unreadable ? `${plural(r.unreadable, "message was", "messages were")} unreadable and kept.` : "",
        r.more ? "More dead letters remain: press the button again." : "",
      ];
    report($("redrive-result"), r.still_failing ? "bad" : "ok", lines.filter(Boolean).join(" "));
    await refreshHealth();
    await loadDeliveries(false);
  });
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
  clearReport($("replay-result"));
}

async function sendReplay(button, body) {
  clearReplayErrors();
  const focused = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const r = await call("POST", "/webhook/replay", token(), body);
    replayNext = r.cursor ? { ...body, cursor: r.cursor } : null;
    $("replay-continue").hidden = !replayNext;
    report($("replay-result"), "ok", [
      `${plural(r.users, "user was", "users were")} created in the window: ${r.queued} queued for delivery,`,
      `${r.already_delivered} already delivered, ${r.skipped} skipped (already waiting in the retry schedule).`,
      r.cursor ? "More users remain: press Continue replay." : "",
    ].filter(Boolean).join(" "));
    await refreshHealth();
    await loadDeliveries(false);
  } catch (error) {
    if (error.field === "since" || error.field === "until") {
      showFieldError(error.field, error.message);
      $(error.field).focus();
    } else {
      failNextTo($("replay-result"), error);
    }
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (focused && !button.hidden && document.activeElement === document.body) button.focus();
  }
}

export async function replaySince(event) {
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

export async function continueReplay() {
  if (replayNext) await sendReplay($("replay-continue"), replayNext);
}

