/**
 * The overview page: asks the gateway's catalog which panels it can show, then draws them and the
 * firing alerts every 30 s while the tab is visible.
 *
 * Token: the page first calls the catalog with the tab's stored token, or none. A 200 means the
 * gateway lets this caller read (a valid token, or an `anonymousRole` that allows anonymous
 * viewers): no prompt. A 401 shows the token form, saying whether a stored token was refused
 * (expired or revoked: it is dropped) or none was given. A 401 later, on a refresh, stops the
 * refreshes, keeps the last charts (marked stale) and shows the form again. A 403 on one route is
 * that panel's error: the token is good but its role does not reach that route.
 */
import { firingAlerts, renderAlerts } from './alerts.js';
import { AuthError, getJson, HttpError, storedToken, storeToken, UnreachableError } from './api.js';
import { html } from './charts.js';
import { formatStep, formatTime } from './format.js';
import { NoData, PANELS, renderTotals } from './panels.js';

const REFRESH_MS = 30_000;
/**
 * Each range with its bucket (s): 60 to 360 points a chart, and whole hours from a week on, so the
 * gateway reads the hourly rollup there (60 times fewer rows than the minute one).
 */
const RANGES = /** @type {Record<string, { length: number, step: number }>} */ ({
  '1h': { length: 3_600_000, step: 60 },
  '6h': { length: 6 * 3_600_000, step: 60 },
  '24h': { length: 24 * 3_600_000, step: 300 },
  '7d': { length: 7 * 24 * 3_600_000, step: 3600 },
});

/** @typedef {import('./panels.js').Range} Range */
/** @typedef {import('./panels.js').Panel} Panel */

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`overview: #${id} missing from the page`);
  return node;
}

const page = {
  rangeSelect: /** @type {HTMLSelectElement} */ (byId('range-select')),
  rangeBox: byId('range'),
  rangeText: byId('range-text'),
  refreshStatus: byId('refresh-status'),
  refreshNow: byId('refresh-now'),
  authStatus: byId('auth-status'),
  forgetToken: byId('forget-token'),
  banner: byId('banner'),
  tokenForm: /** @type {HTMLFormElement} */ (byId('token-form')),
  tokenReason: byId('token-reason'),
  tokenInput: /** @type {HTMLInputElement} */ (byId('token-input')),
  stats: byId('stats'),
  statsNote: byId('stats-note'),
  panels: byId('panels'),
  alerts: byId('alerts'),
  alertsBody: byId('alerts-body'),
};

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** @type {{ panels: Array<{ panel: Panel, section: HTMLElement, body: HTMLElement, note: HTMLElement,
 *   last?: { result: import('./api.js').QueryResult, range: Range } }>,
 *   timer: number | undefined, refreshes: number, running: boolean, again: boolean, connected: boolean }} */
const state = { panels: [], timer: undefined, refreshes: 0, running: false, again: false, connected: false };

/** @param {string} key */
function rangeFor(key, now = Date.now()) {
  const { length, step } = RANGES[key] ?? { length: 86_400_000, step: 300 };
  // Complete buckets only: a half-filled last bucket would read as a drop in traffic.
  const to = Math.floor(now / (step * 1000)) * step * 1000;
  return { from: to - length, to, step, timeZone };
}

function selectedRange() {
  const fromHash = /(?:^|[#&])range=([^&]+)/.exec(location.hash)?.[1];
  return fromHash && fromHash in RANGES ? fromHash : page.rangeSelect.value;
}

/** @param {Range} range */
function showRange(range) {
  const withDate = range.to - range.from >= 86_400_000;
  page.rangeText.textContent =
    `${formatTime(range.from, timeZone, withDate)} – ${formatTime(range.to, timeZone, withDate)} ` +
    `${timeZone} · ${formatStep(range.step)} buckets (complete buckets only)`;
  page.rangeBox.dataset.from = String(range.from);
  page.rangeBox.dataset.to = String(range.to);
  page.rangeBox.dataset.step = String(range.step);
}

/** @param {string} text empty to hide */
function showBanner(text) {
  page.banner.textContent = text;
  page.banner.hidden = text === '';
}

/** @param {string} pageState */
function setPageState(pageState) {
  document.body.dataset.state = pageState;
}

/** @param {string} reason */
function askForToken(reason) {
  stopTimer();
  setPageState('needs-token');
  page.tokenReason.textContent = reason;
  page.tokenForm.hidden = false;
  page.refreshStatus.textContent = 'paused: waiting for a token';
  for (const p of state.panels) if (p.section.dataset.state === 'ok') p.section.dataset.state = 'stale';
  page.tokenInput.focus();
}

function showAuth() {
  const token = storedToken();
  page.authStatus.textContent = token ? 'using this tab’s token' : 'anonymous access';
  page.forgetToken.hidden = !token;
}

function stopTimer() {
  if (state.timer !== undefined) clearTimeout(state.timer);
  state.timer = undefined;
}

/** @param {number} [delayMs] */
function scheduleRefresh(delayMs = REFRESH_MS) {
  stopTimer();
  if (document.hidden) return;
  state.timer = window.setTimeout(() => void refresh(), delayMs);
}

/** Asks the catalog (which also proves the token), then builds the panels it serves. */
async function connect() {
  setPageState('connecting');
  /** @type {Array<{ domain: string, name: string }>} */
  let catalog;
  try {
    catalog = await getJson('/api/v1/queries');
  } catch (error) {
    if (error instanceof AuthError) {
      const hadToken = storedToken() !== '';
      if (error.status === 401) storeToken('');
      showAuth();
      askForToken(
        error.status === 403
          ? `The token's role cannot read the query catalog (${error.message}). Enter another token.`
          : hadToken
            ? `The gateway refused this tab's token (expired or revoked: ${error.message}). Enter a new one.`
            : 'This gateway needs a bearer token to read its data (its anonymousRole is none).',
      );
      return;
    }
    setPageState('unreachable');
    showBanner(`Cannot reach the gateway: ${errorText(error)}. Trying again in ${REFRESH_MS / 1000} s.`);
    state.timer = window.setTimeout(() => void connect(), REFRESH_MS);
    return;
  }
  state.connected = true;
  page.tokenForm.hidden = true;
  showBanner('');
  showAuth();
  const served = new Set(catalog.map((q) => `${q.domain}/${q.name}`));
  buildPanels(PANELS.filter((p) => served.has(p.query)));
  if (!served.has('flows/totals')) page.stats.hidden = true;
  await refresh();
}

/** @param {Panel[]} panels */
function buildPanels(panels) {
  page.panels.replaceChildren();
  state.panels = panels.map((panel) => {
    const section = document.createElement('section');
    section.className = panel.wide ? 'panel wide' : 'panel';
    section.dataset.panel = panel.id;
    section.dataset.state = 'loading';
    const title = document.createElement('h2');
    title.textContent = panel.title;
    const subtitle = document.createElement('p');
    subtitle.className = 'subtitle muted';
    const note = document.createElement('p');
    note.className = 'note';
    note.hidden = true;
    const body = document.createElement('div');
    body.className = 'body';
    section.append(title, subtitle, note, body);
    page.panels.appendChild(section);
    return { panel, section, body, note };
  });
  if (panels.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'muted';
    empty.textContent = 'This gateway serves none of the queries the overview draws.';
    page.panels.appendChild(empty);
  }
}

/** @param {unknown} error */
function errorText(error) {
  if (error instanceof HttpError) return `HTTP ${error.status}: ${error.message}`;
  if (error instanceof AuthError) return `HTTP ${error.status}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

async function refresh() {
  if (!state.connected) return;
  if (state.running) {
    // A range change or a click during a refresh: run once more right after, with the new range.
    state.again = true;
    return;
  }
  state.running = true;
  stopTimer();
  const range = rangeFor(selectedRange());
  showRange(range);
  page.refreshStatus.textContent = 'refreshing…';
  /** @type {unknown[]} */
  const failures = [];
  const jobs = state.panels.map(async (entry) => {
    entry.section.querySelector('.subtitle')?.replaceChildren(entry.panel.subtitle(range));
    try {
      const result = await getJson(`/api/v1/${entry.panel.query}`, entry.panel.params(range));
      entry.last = { result, range };
      drawPanel(entry);
    } catch (error) {
      failures.push(error);
      if (!(error instanceof AuthError && error.status === 401)) panelError(entry, error);
    }
  });
  jobs.push(
    loadTotals(range).then(
      () => {
        page.stats.dataset.state = 'ok';
        page.statsNote.hidden = true;
      },
      (error) => {
        failures.push(error);
        page.stats.dataset.state = 'error';
        page.statsNote.textContent = `Totals failed: ${errorText(error)}`;
        page.statsNote.hidden = false;
      },
    ),
  );
  jobs.push(loadAlerts().catch((error) => failures.push(error)));
  await Promise.all(jobs);
  state.running = false;
  state.refreshes += 1;
  document.body.dataset.refreshes = String(state.refreshes);
  const again = state.again;
  state.again = false;

  if (failures.some((e) => e instanceof AuthError && e.status === 401)) {
    const hadToken = storedToken() !== '';
    storeToken('');
    showAuth();
    askForToken(
      hadToken
        ? 'The gateway stopped accepting the token (expired or revoked). Enter a new one to go on.'
        : 'The gateway no longer lets anonymous viewers read: enter a bearer token to go on.',
    );
    return;
  }
  const unreachable = failures.filter((e) => e instanceof UnreachableError);
  if (
    unreachable.length > 0 &&
    unreachable.length === failures.length &&
    failures.length >= state.panels.length
  ) {
    setPageState('unreachable');
    showBanner(
      `Cannot reach the gateway: ${errorText(unreachable[0])}. The charts show the last data received.`,
    );
  } else {
    setPageState(failures.length ? 'partial' : 'ready');
    showBanner('');
  }
  // Rate limited (429): wait as long as the gateway asks before the next round, not just 30 s.
  const retryAfter = Math.max(
    0,
    ...failures.map((e) => (e instanceof HttpError && e.status === 429 ? (e.retryAfterSeconds ?? 60) : 0)),
  );
  const delay = Math.max(REFRESH_MS, retryAfter * 1000);
  const at = formatTime(Date.now(), timeZone, false);
  page.refreshStatus.textContent = document.hidden
    ? `updated ${at} · paused while the tab is hidden`
    : `updated ${at} · next in ${Math.round(delay / 1000)} s${retryAfter ? ' (rate limited)' : ''}`;
  if (again) void refresh();
  else scheduleRefresh(delay);
}

/** @param {(typeof state.panels)[number]} entry */
function drawPanel(entry) {
  if (!entry.last) return;
  try {
    entry.panel.render(entry.body, entry.last.result, entry.last.range);
    entry.section.dataset.state = 'ok';
    entry.note.hidden = true;
  } catch (error) {
    if (error instanceof NoData) {
      entry.body.replaceChildren();
      entry.section.dataset.state = 'empty';
      entry.note.textContent = error.message;
      entry.note.className = 'note muted';
      entry.note.hidden = false;
      return;
    }
    panelError(entry, error);
  }
}

/**
 * The panel keeps its last drawing (marked stale) and says what failed, in the gateway's words.
 * @param {(typeof state.panels)[number]} entry
 * @param {unknown} error
 */
function panelError(entry, error) {
  entry.section.dataset.state = 'error';
  entry.note.className = 'note error';
  entry.note.textContent = `Failed: ${errorText(error)}`;
  entry.note.hidden = false;
}

/** @param {Range} range */
async function loadTotals(range) {
  if (page.stats.hidden) return;
  const result = await getJson('/api/v1/flows/totals', { from: range.from, to: range.to });
  renderTotals(page.stats, result, range);
}

// ---------------------------------------------------------------------------------------------
// Firing alerts

async function loadAlerts() {
  /** @type {import('./api.js').QueryResult} */
  let result;
  try {
    result = await getJson('/api/v1/alerts/firing');
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) {
      page.alerts.dataset.state = 'unavailable';
      page.alertsBody.replaceChildren(
        html(
          'p',
          'muted',
          'Alerting is not running: this gateway has no /api/v1/alerts/firing route. ' +
            'Firing alerts show here once the alerting module runs in this platform.',
        ),
      );
      return;
    }
    if (error instanceof AuthError && error.status === 401) throw error;
    page.alerts.dataset.state = 'error';
    page.alertsBody.replaceChildren(html('p', 'error', `Failed: ${errorText(error)}`));
    return;
  }
  renderAlerts(page.alerts, page.alertsBody, firingAlerts(result), Date.now());
}

// ---------------------------------------------------------------------------------------------
// Wiring

function start() {
  const fromHash = /(?:^|[#&])range=([^&]+)/.exec(location.hash)?.[1];
  if (fromHash && fromHash in RANGES) page.rangeSelect.value = fromHash;
  page.rangeSelect.addEventListener('change', () => {
    history.replaceState(null, '', `#range=${page.rangeSelect.value}`);
    void refresh();
  });
  page.refreshNow.addEventListener('click', () => {
    if (state.connected) void refresh();
    else void connect();
  });
  page.tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = page.tokenInput.value.trim();
    if (!token) return;
    storeToken(token);
    page.tokenInput.value = '';
    page.tokenForm.hidden = true;
    state.connected = false;
    void connect();
  });
  page.forgetToken.addEventListener('click', () => {
    storeToken('');
    state.connected = false;
    stopTimer();
    void connect();
  });
  document.addEventListener('visibilitychange', () => {
    // Hidden tabs do not poll (a wall of NOC screens can leave many open); back in view, refresh at once.
    if (document.hidden) stopTimer();
    else if (state.connected && page.tokenForm.hidden) void refresh();
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => {
      for (const entry of state.panels) if (entry.section.dataset.state === 'ok') drawPanel(entry);
    }, 150);
  });
  void connect();
}

start();
