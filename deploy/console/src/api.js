// The public API through the gateway, with the signed-in officer's token.
import { bearer, SignedOut } from "./auth.js";
import { currentLang } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export async function get(path, params) {
  try {
    return await request(path, params);
  } catch (error) {
    // The sign-in ended (revoked, expired, signed out elsewhere): the page shows sign-in.
    if (error instanceof SignedOut) dispatchEvent(new Event("otog:signed-out"));
    throw error;
  }
}

async function request(path, params) {
  for (let attempt = 0; ; attempt += 1) {
    const token = await bearer(attempt > 0);
    const response = await fetch(url(path, params), {
      headers: { Authorization: `Bearer ${token}`, "Accept-Language": currentLang() },
    });
    if (response.status === 401 && attempt === 0) continue;
    if (response.status === 401) throw new SignedOut();
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
}

/** Every item of a paginated list (the consoles' lists are a province's worth). */
export async function getAll(path, params, limit = 200) {
  const items = [];
  let cursor;
  do {
    const page = await get(path, { ...params, limit, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
