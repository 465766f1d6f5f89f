// The health section: the default endpoint's last deliveries, what waits to retry, the dead letters.

import { call, token } from "./api.js";
import { $, plural } from "./dom.js";
import { showTime } from "./times.js";
import { HEALTH } from "./words.js";

export function showHealth(health) {
  if (!health) return;
  const status = Object.hasOwn(HEALTH, health.status) ? health.status : "unknown";
  $("health-badge").className = `badge ${status}`;
  $("health-badge").textContent = status;
  $("default-health").className = `badge health ${status}`; // the same health, on the default's entry
  $("default-health").textContent = status;
  $("health-summary").textContent = HEALTH[status];
  showTime("health-last-success", health.last_success_at, "never");
  showTime("health-last-failure", health.last_failure_at, "never");
  showTime("health-failing-since", health.failing_since, "not failing");
  $("health-consecutive").textContent = String(health.consecutive_failures ?? 0);
  $("health-retrying").textContent = plural(health.retrying ?? 0, "notification", "notifications");
  $("health-dead-letters").textContent = `${plural(health.dead_letters ?? 0, "notification", "notifications")} (approximate)`;
}

export async function refreshHealth() {
  showHealth((await call("GET", "/webhook", token())).health);
}
