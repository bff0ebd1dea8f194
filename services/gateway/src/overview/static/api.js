/**
 * The gateway's API as the page uses it: GET with the bearer token of this tab, if any, and
 * errors that say which kind of failure it was (the page reacts differently to each).
 *
 * The token lives in sessionStorage: per tab, gone when the tab closes, never in the URL (so not
 * in history, logs or a Referer), and sent only to this origin. A gateway whose `anonymousRole`
 * lets anonymous callers read answers without one, and then the page never asks.
 */

const TOKEN_KEY = 'kansoku.gateway.token';
/** A query slower than this is given up on and shown as failed (the next refresh tries again). */
const TIMEOUT_MS = 20_000;

export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** @param {string} token empty to forget it */
export function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled (a locked-down browser): the token lasts as long as the page.
  }
}

/** The gateway refused the caller: 401 (no or unknown token) or 403 (a role too low). */
export class AuthError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Any other answer than 2xx, with the gateway's own message ({error, message, parameter}). */
export class HttpError extends Error {
  /** @param {number} status @param {string} message @param {number} [retryAfterSeconds] from a 429 */
  constructor(status, message, retryAfterSeconds) {
    super(message);
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The gateway did not answer at all (down, network, timeout). */
export class UnreachableError extends Error {}

/**
 * @typedef {{ name: string, type: 'time' | 'number' | 'string', unit?: string }} Column
 * @typedef {{ columns: Column[], rows: Array<Record<string, string | number | null>> }} QueryResult
 */

/**
 * @param {string} path e.g. /api/v1/flows/totals (read relative to the page's address)
 * @param {Record<string, string | number>} [params]
 * @param {string} [token]
 * @returns {Promise<any>}
 */
export async function getJson(path, params = {}, token = storedToken()) {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  // Relative to the page, so a gateway behind a reverse proxy under a path prefix (/kansoku/) works.
  const url = `${path.replace(/^\//, '')}${query.size ? `?${query}` : ''}`;
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { headers, cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'no answer';
    throw new UnreachableError(`${path}: ${reason} from the gateway`);
  }
  const text = await response.text();
  /** @type {any} */
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok) {
    if (body === undefined) throw new HttpError(response.status, `${path}: the answer is not JSON`);
    return body;
  }
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${response.status}`;
  if (response.status === 401 || response.status === 403) throw new AuthError(response.status, message);
  const retryAfter = Number(response.headers.get('retry-after'));
  throw new HttpError(
    response.status,
    message,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}
