// The delivery log: one row per notification with its attempts, filters, More, Refresh and a row's Resend.

import { call, token } from "./api.js";
import { $, element, facts, plural } from "./dom.js";
import { refreshHealth } from "./health.js";
import { failNextTo, say, showError, working } from "./status.js";
import { timeNode } from "./times.js";
import { DELIVERY_STATUSES, REASONS, TRIGGERS, words } from "./words.js";

const PAGE_SIZE = 20;
let deliveriesCursor = null; // where the next page of the delivery log starts

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

export async function loadDeliveries(append = false) {
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

// The filter is never disabled while the list loads, so it keeps the focus for the next arrow key.
export async function showDeliveries() {
  try { await loadDeliveries(false); } catch (error) { failNextTo($("deliveries-error"), error); }
}

export async function moreDeliveries() {
  await working($("deliveries-more"), $("deliveries-error"), async () => {
    const rows = await loadDeliveries(true);
    if (!deliveriesCursor && rows.length) rows[0].querySelector("button").focus(); // More is gone: go to the new rows
  });
}

export async function refresh() {
  await working($("refresh"), $("deliveries-error"), async () => {
    await refreshHealth();
    await loadDeliveries(false);
    say("ok", "Health and deliveries refreshed.");
  });
}

// Health and the first page of the log once the token is accepted; an error here leaves the settings usable.
export async function loadLog() {
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

