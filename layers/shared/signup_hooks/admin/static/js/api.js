// The admin API on this origin, and the admin token it takes: kept in this tab only (session storage), sent only in
// the Authorization header.

const API = "/api/v1/admin"; // the single-URL API is /webhook (the endpoint "default"), the endpoints /webhooks
const TOKEN_KEY = "signup-webhooks-admin-token";

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || (body && body.message) || `the server answered ${status}`);
    this.status = status;
    this.field = body && body.field;
  }
}

export async function call(method, path, token, body) {
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

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function keepToken(candidate) {
  sessionStorage.setItem(TOKEN_KEY, candidate);
}

export function dropToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}
