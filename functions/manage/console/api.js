// The JSON API on the same origin. Every call but the login carries the Cognito ID token; a 401 means the
// session is over, so the app is told once (onUnauthorized) and shows the login view again.

const TOKEN_KEY = "koppel.id_token";

let unauthorizedHandler = () => {};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body || {};
  }
}

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function plainError(status, body) {
  if (body && typeof body.error === "string" && body.error) return body.error;
  if (status === 401) return "Your session has ended. Please log in again.";
  if (status === 403) return "You are not allowed to do this.";
  if (status === 404) return "This was not found, or you may not see it.";
  if (status >= 500) return "Koppel could not answer just now. Please try again in a minute.";
  return `The request failed (HTTP ${status}).`;
}

async function call(method, path, body, { anonymous = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const bearer = token();
  if (!anonymous && bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "Koppel cannot be reached. Check your connection and try again.");
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data || {};
  const error = new ApiError(response.status, plainError(response.status, data), data);
  if (response.status === 401 && !anonymous) {
    forgetToken();
    unauthorizedHandler(error.message);
  }
  throw error;
}

const enc = encodeURIComponent;
const conn = (id) => `/api/connections/${enc(id)}`;

// Either { user } (signed in) or { firstSignIn: { session, rules } }: a first password an operator gave,
// which the person replaces with their own through choosePassword before they get a token.
export async function login(username, password) {
  const answer = await call("POST", "/api/session", { username, password }, { anonymous: true });
  if (answer.next === "choose-password") return { firstSignIn: { session: answer.session, rules: answer.rules } };
  sessionStorage.setItem(TOKEN_KEY, answer.id_token);
  return { user: answer.user };
}

export async function choosePassword(username, session, newPassword) {
  const body = { username, session, new_password: newPassword };
  const answer = await call("POST", "/api/session/password", body, { anonymous: true });
  sessionStorage.setItem(TOKEN_KEY, answer.id_token);
  return answer.user;
}

export const api = {
  me: () => call("GET", "/api/me"),
  connections: () => call("GET", "/api/connections"),
  connection: (id) => call("GET", conn(id)),
  history: (id, { state = "", limit = 100 } = {}) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (state) query.set("state", state);
    return call("GET", `${conn(id)}/history?${query}`);
  },
  replay: (id, eventIds = []) => call("POST", `${conn(id)}/replay`, { event_ids: eventIds }),
  pause: (id, reason) => call("POST", `${conn(id)}/pause`, reason ? { reason } : {}),
  resume: (id) => call("POST", `${conn(id)}/resume`),
  backfill: (id, since, until) => call("POST", `${conn(id)}/backfill`, { since, until: until || null }),
  bookings: (id, hours = 48) => call("GET", `${conn(id)}/bookings?hours=${hours}`),
  mapping: (id, target) => call("GET", `${conn(id)}/mapping/${enc(target)}`),
  saveMapping: (id, target, fields) => call("PUT", `${conn(id)}/mapping/${enc(target)}`, { fields }),
  connect: (id, system) => call("POST", `${conn(id)}/connect/${enc(system)}`),
  disconnect: (id) => call("POST", `${conn(id)}/disconnect`),
};
