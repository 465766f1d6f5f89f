// The delivery log: one row per notification with its attempts, filters, More, Refresh and a row's Resend.

import { call, token } from "./api.js";
import { $, element, facts, plural, resultRegion } from "./dom.js";
import { refreshHealth } from "./health.js";
import { endpointName } from "./endpoints.js";
import { clearReport, failNextTo, report, working } from "./status.js";
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

// One entry: status, whom it is about, the endpoint and the event in its head; what went wrong only when something
// did; the attempts folded away.
function deliveryRow(item) {
  const status = DELIVERY_STATUSES.includes(item.status) ? item.status : "unknown";
  const name = (item.user && item.user.name) || "(no name)";
  const endpoint = endpointName(item.endpoint || "default");
  const event = item.event || "user.created";
  const row = element("li", "delivery");
  row.dataset.deliveryId = item.id;
  const head = element("p", "delivery-head");
  head.append(
    element("span", `badge ${status}`, item.status), " ", element("span", "delivery-user", name),
    " ", element("span", "delivery-to", "to"), " ", element("span", "delivery-endpoint", endpoint),
    " ", element("code", "delivery-event", event),
  );
  const pairs = [["Attempts", String(item.attempt_count ?? 0)]];
  if (status !== "delivered") {
    pairs.push(["Last reason", lastReason(item)]);
    if (item.next_attempt_at) pairs.push(["Next attempt", timeNode(item.next_attempt_at)]);
  }
  pairs.push(["Logged", timeNode(item.created_at)], ["Receiver", `${item.target_host || "–"} (${item.format || "–"})`]);
  row.append(head, facts(pairs));
  if (item.last_reason && status !== "delivered" && REASONS[item.last_reason]) {
    row.append(element("p", "help", REASONS[item.last_reason]));
  }
  if (item.attempts && item.attempts.length) {
    const details = element("details");
    const list = element("ol", "attempts");
    list.append(...item.attempts.map(attemptLine));
    const count = plural(item.attempts.length, "attempt", "attempts");
    details.append(element("summary", "", `${count} (webhook id ${item.webhook_id})`), list);
    row.append(details);
  }
  const region = resultRegion(`resend-result-${item.id}`);
  const buttons = element("div", "buttons");
  const button = element("button", "secondary resend", "Resend");
  button.type = "button";
  button.setAttribute("aria-label", `Resend the notification about ${name} to ${endpoint}`);
  button.setAttribute("aria-describedby", region.id);
  button.addEventListener("click", () => resend(item, row, button, region));
  buttons.append(button);
  row.append(buttons, region);
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
  clearReport($("deliveries-error"));
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
  await working($("refresh"), $("refresh-result"), async () => {
    await refreshHealth();
    await loadDeliveries(false);
    report($("refresh-result"), "ok", "Health and deliveries refreshed.");
  });
}

// Health and the first page of the log once the token is accepted; an error here leaves the settings usable.
export async function loadLog() {
  await working($("refresh"), $("deliveries-error"), () => loadDeliveries(false));
}

async function resend(item, row, button, region) {
  await working(button, region, async () => {
    const updated = await call("POST", `/webhook/deliveries/${encodeURIComponent(item.id)}/resend`, token());
    const fresh = deliveryRow(updated);
    row.replaceWith(fresh);
    fresh.querySelector("button.resend").focus();
    await new Promise((resolve) => { setTimeout(resolve, 0); }); // the new entry's region is in the page: announced
    const name = (updated.user && updated.user.name) || "the user";
    const last = updated.attempts && updated.attempts[updated.attempts.length - 1];
    const freshRegion = fresh.querySelector(".result");
    if (last && !last.reason) {
      report(freshRegion, "ok", `Resent the notification about ${name}: delivered.`);
    } else {
      report(freshRegion, "bad", `Resent the notification about ${name}: not delivered (${lastReason(updated)}).`,
        REASONS[updated.last_reason] || "");
    }
    await refreshHealth();
  });
}
