// The admin settings page: endpoints, health, delivery log and replays. Plain JS, no framework, no build step: native
// modules, one per section of the page (this one takes the token and wires the page). It calls the admin API with
// the token from session storage, and shows what comes back as text only.

import { call, dropToken, keepToken, token } from "./js/api.js";
import { $ } from "./js/dom.js";
import { loadLog, moreDeliveries, refresh, showDeliveries } from "./js/deliveries.js";
import { resetEndpointForm } from "./js/endpoint-form.js";
import { forgetEndpoints, saveEndpoint, showEndpoints } from "./js/endpoints.js";
import { showHealth } from "./js/health.js";
import { updatePreview } from "./js/preview.js";
import { continueReplay, redriveDeadLetters, replaySince } from "./js/replay.js";
import { clearErrors, clearReport, explain, failNextTo, report, showSettings, showTokenError } from "./js/status.js";
import { clearUrl, forgetState, save, sendTest, showState } from "./js/webhook.js";

async function useToken(event) {
  event.preventDefault();
  clearErrors();
  clearReport($("token-result"));
  const candidate = $("token").value.trim();
  if (!candidate) { showTokenError("Enter the admin token."); $("token").focus(); return; }
  try {
    const data = await call("GET", "/webhook", candidate);
    keepToken(candidate); // kept only once the API accepted it
    $("token").value = "";
    showState(data);
    showHealth(data.health);
    showSettings(true);
    report($("token-result"), "ok", "Token accepted. Settings loaded.");
    await showEndpoints();
    await loadLog();
  } catch (error) {
    showTokenError(explain(error));
    $("token").focus();
  }
}

function forgetToken() {
  dropToken();
  forgetState();
  showSettings(false);
  $("delivery-list").replaceChildren(); // nothing of the log or the endpoints stays in the page without a token
  forgetEndpoints();
  resetEndpointForm();
  report($("token-result"), "ok", "The token was removed from this tab.");
  $("token").focus();
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
    failNextTo($("token-result"), error);
    return;
  }
  await showEndpoints();
  await loadLog();
}

document.addEventListener("DOMContentLoaded", start);
