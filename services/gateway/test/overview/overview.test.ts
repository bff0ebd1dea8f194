/**
 * The overview page's files as the gateway serves them: types, caching headers, CSP, 304s, and
 * that every file the page loads (script imports included) is one the gateway serves.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStaticFiles, OVERVIEW_STATIC_DIR, overviewPage } from '../../src/overview/overview.ts';

describe('overview page files', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    await app.register(overviewPage);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves the page at / with a same-origin-only policy', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    expect(res.body).toContain('<script type="module" src="/overview/overview.js">');
  });

  it('answers 304 to a matching ETag and the full file to a stale one', async () => {
    const first = await app.inject({ url: '/overview/overview.js' });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ url: '/overview/overview.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const stale = await app.inject({ url: '/overview/overview.js', headers: { 'if-none-match': '"old"' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(first.body);
  });

  it('serves scripts and styles with their types, and nothing else', async () => {
    expect((await app.inject({ url: '/overview/charts.js' })).headers['content-type']).toBe(
      'text/javascript; charset=utf-8',
    );
    expect((await app.inject({ url: '/overview/overview.css' })).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    for (const url of ['/overview/nope.js', '/overview/..%2Foverview.ts', '/overview/%2e%2e%2fapp.ts']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('serves every file the page and its modules load, and loads nothing from elsewhere', () => {
    const files = loadStaticFiles(OVERVIEW_STATIC_DIR);
    const texts = [...files.entries()].map(([name, f]) => [name, f.body.toString('utf8')] as const);
    for (const [name, text] of texts) {
      const references = [
        ...[...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? ''),
        ...[...text.matchAll(/from '(\.\/[^']+)'/g)].map((m) => m[1] ?? ''),
        ...[...text.matchAll(/import\('(\.\/[^']+)'\)/g)].map((m) => m[1] ?? ''),
      ];
      for (const ref of references) {
        if (ref.startsWith('data:') || ref === '/docs') continue;
        expect(ref, `${name} loads ${ref}`).not.toMatch(/^(https?:)?\/\//);
        const served = ref.replace(/^\/overview\//, '').replace(/^\.\//, '');
        expect(files.has(served), `${name} loads ${ref}, which is not served`).toBe(true);
      }
    }
  });
});
