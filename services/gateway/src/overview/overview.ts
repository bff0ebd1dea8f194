/**
 * The built-in overview page at `/`, for NOC users without Grafana: a handful of static files (plain
 * ES modules, no build step) that read the same `/api/v1` routes Grafana does, with the caller's
 * bearer token. The page itself holds no data, so its files are public; every number on it comes
 * from a data route that checks the token.
 *
 * The files are read once at registration and served from memory: a fixed set known at startup
 * (no path from a request ever reaches the file system), each with a content hash as its ETag.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The folder of the page's files. */
export const OVERVIEW_STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** Where the page's assets are served; the page itself is `/`. */
export const OVERVIEW_ASSET_PREFIX = '/overview/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Same-origin only: no CDN, no inline script or style, no framing. The page talks to this gateway
 * and nothing else, which is also what lets it work on a NOC network without internet access.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** Every servable file of a folder (not recursive), by name; other extensions are left out. */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || !contentType) continue;
    const body = readFileSync(join(dir, entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    files.set(entry.name, { body, contentType, etag });
  }
  if (!files.has('index.html')) throw new Error(`overview page: no index.html in ${dir}`);
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile) {
  reply
    .header('content-type', file.contentType)
    .header('etag', file.etag)
    // Revalidate every time (a 304 costs nothing): an upgraded gateway never runs yesterday's script.
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (file.contentType.startsWith('text/html')) {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-frame-options', 'DENY');
  }
  const match = request.headers['if-none-match'];
  if (match?.split(',').some((tag) => tag.trim() === file.etag)) {
    return reply.status(304).send();
  }
  return reply.send(file.body);
}

export interface OverviewPageOptions {
  /** The folder to serve (tests); the page's own files by default. */
  dir?: string;
}

/** Registers `/` (the page) and `/overview/<file>` (its scripts and styles). */
export async function overviewPage(app: FastifyInstance, options: OverviewPageOptions = {}): Promise<void> {
  const files = loadStaticFiles(options.dir ?? OVERVIEW_STATIC_DIR);
  const index = files.get('index.html') as StaticFile;

  app.get('/', { schema: { hide: true } }, (request, reply) => send(request, reply, index));
  app.get<{ Params: { file: string } }>(
    `${OVERVIEW_ASSET_PREFIX}:file`,
    { schema: { hide: true } },
    (request, reply) => {
      const file = files.get(request.params.file);
      if (!file) {
        return reply
          .status(404)
          .send({ error: 'not_found', message: `no overview asset ${request.params.file}` });
      }
      return send(request, reply, file);
    },
  );
}
