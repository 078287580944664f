// Sign-in as a public client: authorization code + PKCE (S256) against the registry.
// The access token lives only in memory. The refresh token is kept in sessionStorage so
// a reload of the tab does not ask for the password again; it dies with the tab, every
// refresh rotates it (a stolen, already used one revokes the whole chain), and the page's
// CSP admits no script but our own bundle. Never localStorage: that outlives the tab.

const CLIENT_ID =
  document.querySelector('meta[name="otog-client-id"]')?.getAttribute("content") || "otog-console";
const REFRESH_KEY = "otog-console.refresh";
const PENDING_KEY = "otog-console.pending";

let accessToken = null;
let accessExpiresAt = 0;
let refreshing = null;

function redirectUri() {
  return `${location.origin}/console/`;
}

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(digest);
}

export async function signIn(lang) {
  const verifier = randomToken(48);
  const state = randomToken(16);
  // The view to come back to: the hash, never a query (no identifiers in URLs we send).
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
    lang,
  });
  location.assign(`/v1/oauth/authorize?${params}`);
}

async function tokenRequest(form) {
  const response = await fetch("/v1/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...form }),
    cache: "no-store",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error_description || body.error || `HTTP ${response.status}`);
    error.code = body.error;
    throw error;
  }
  return body;
}

function keep(tokens) {
  accessToken = tokens.access_token;
  // Refreshed a little before it runs out, so a request never carries a dead token.
  accessExpiresAt = Date.now() + Math.max(10, tokens.expires_in - 30) * 1000;
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
}

function forget() {
  accessToken = null;
  accessExpiresAt = 0;
  sessionStorage.removeItem(REFRESH_KEY);
}

/** Finishes a sign-in when the page is the redirect target; true when signed in. */
export async function completeSignIn() {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return hasSession();
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  // The code leaves the address bar (and the history) before anything else happens.
  history.replaceState(null, "", `/console/${pending?.hash || ""}`);
  if (!pending || query.get("state") !== pending.state || !query.get("code")) {
    throw new Error(query.get("error_description") || query.get("error") || "sign-in refused");
  }
  keep(
    await tokenRequest({
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  );
  return true;
}

function hasSession() {
  return accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) throw new SignedOut();
  try {
    keep(await tokenRequest({ grant_type: "refresh_token", refresh_token: token }));
  } catch (error) {
    forget();
    throw new SignedOut();
  }
}

export class SignedOut extends Error {}

/** A valid access token, refreshed (once, shared by concurrent callers) when due. */
export async function bearer(force = false) {
  if (!force && accessToken && Date.now() < accessExpiresAt) return accessToken;
  refreshing ??= refresh().finally(() => {
    refreshing = null;
  });
  await refreshing;
  return accessToken;
}

export async function signOut() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  forget();
  if (token) {
    // Revoking the refresh token ends every token of this sign-in.
    await fetch("/v1/oauth/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, token_type_hint: "refresh_token", client_id: CLIENT_ID }),
    }).catch(() => undefined);
  }
}
