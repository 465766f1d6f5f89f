// The API's vocabularies in words: delivery reasons, health, delivery statuses and triggers.

// results.Reason codes in the words of the README's troubleshooting guide.
export const REASONS = {
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
  gone: "The receiver answered 410 Gone: the webhook was removed for good, so its endpoint was disabled. Set a new URL, then enable it, and replay what it missed.",
  rate_limited: "The receiving service is throttling requests. Spread signups or use a receiver with a higher limit.",
  client_error: "The receiver rejected the request. Check that the format matches the receiving service.",
  server_error: "The receiver had an error: it is temporarily unavailable. This usually passes.",
};
export const HEALTH = {
  healthy: "The last delivery succeeded.",
  failing: "The last delivery failed. Notifications wait in the retry schedule, then as dead letters: nothing is dropped.",
  unknown: "No delivery has succeeded yet.",
};
export const DELIVERY_STATUSES = ["delivered", "retrying", "failed", "skipped"];
export const TRIGGERS = {
  stream: "first try",
  schedule: "retry schedule",
  resend: "resend",
  replay: "replay",
  redrive: "dead-letter replay",
};

export function words(code) {
  return String(code).replaceAll("_", " ");
}
