import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { Registry, RegistryContentType } from 'prom-client';
import { DEMO_SECURITY_HEADERS } from './demo-headers';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

/** What the HTTP side of the server answers besides WebSocket upgrades. */
export interface HttpRoutesOptions {
  /** The WebSocket path, for the hint a plain GET gets when there is no demo. */
  readonly wsPath: string;
  /** A folder of static files served at `/` (the demo page), or undefined for none. */
  readonly staticDir: string | undefined;
  /** The body of `GET /health`. */
  health(): object;
  readonly metrics: Registry<RegistryContentType>;
  /**
   * Whether a request may read `/metrics` and the full `/health`; undefined lets everyone. A
   * request refused gets 401 from `/metrics` and only `{ "status": "ok" }` from `/health`.
   */
  readonly authorize?: (request: IncomingMessage) => Promise<boolean>;
  /** The bytes of a stored attachment, for `GET /attachments/<ref>`; undefined serves none. */
  readonly attachment?: (ref: string) => Promise<{ mediaType: string; data: string } | undefined>;
  /** Whether a request may read attachments (what `authenticate` accepts); undefined lets everyone who knows a ref. */
  readonly authorizeAttachment?: (request: IncomingMessage) => Promise<boolean>;
  /**
   * A `POST` endpoint (the AG-UI one), answered by `handle`, which also gets the CORS preflight
   * (`OPTIONS`) of its path; other methods there get 405.
   */
  readonly post?: { readonly path: string; handle(request: IncomingMessage, response: ServerResponse): void };
}

/** The path of attachments and the shape of a ref: `sha256-` and 64 hex digits. */
const ATTACHMENTS_PATH = '/attachments/';
const isRef = (ref: string): boolean =>
  ref.length === 71 && ref.startsWith('sha256-') && /^[0-9a-f]{64}$/.test(ref.slice(7));

/** What `/health` tells a request without the token: that the server is up, nothing about its load. */
const BARE_HEALTH = JSON.stringify({ status: 'ok' });

/**
 * Loads the static files once (a handful of small files) and serves them by exact name only:
 * no path from the request ever reaches the file system.
 */
function loadStaticFiles(dir: string | undefined): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!dir) return files;
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`no index.html in the demo folder ${dir} (run npm run build)`);
  for (const name of readdirSync(dir)) {
    const type = contentTypes[extname(name)];
    if (type) files.set(`/${name}`, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

/** The request handler for everything that is not a WebSocket upgrade. */
export function createHttpRoutes(
  options: HttpRoutesOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const files = loadStaticFiles(options.staticDir);
  const send = (
    response: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    head: boolean,
    headers?: object,
  ): void => {
    // Scripts are public code: any origin may import the client module (`<script type="module">`
    // on a page served elsewhere needs CORS for a cross-origin module).
    const cors = type.startsWith('text/javascript') ? { 'access-control-allow-origin': '*' } : {};
    response.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-cache',
      ...cors,
      ...headers,
    });
    response.end(head ? undefined : body);
  };

  return (request, response) => {
    const head = request.method === 'HEAD';
    if (
      options.post &&
      (request.method === 'POST' || request.method === 'OPTIONS') &&
      new URL(request.url ?? '/', 'http://localhost').pathname === options.post.path
    )
      return options.post.handle(request, response);
    if (request.method !== 'GET' && !head)
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n', head);
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path.startsWith(ATTACHMENTS_PATH) && options.attachment) {
      const ref = path.slice(ATTACHMENTS_PATH.length);
      const read = options.attachment;
      const allowed = options.authorizeAttachment ? options.authorizeAttachment(request) : Promise.resolve(true);
      void allowed
        .then(async (ok) => {
          if (!ok)
            return send(response, 401, 'text/plain; charset=utf-8', 'the auth token is required\n', head, {
              'www-authenticate': 'Bearer',
            });
          const found = isRef(ref) ? await read(ref) : undefined;
          if (!found) return send(response, 404, 'text/plain; charset=utf-8', 'no such attachment\n', head);
          // A user's upload, served from the server's origin: never run as a page, never sniffed.
          return send(response, 200, found.mediaType, Buffer.from(found.data, 'base64'), head, {
            'cache-control': 'private, max-age=31536000, immutable',
            'content-security-policy': "default-src 'none'; sandbox",
            'x-content-type-options': 'nosniff',
            'content-disposition': found.mediaType.startsWith('image/') ? 'inline' : 'attachment',
          });
        })
        .catch(() => send(response, 500, 'text/plain; charset=utf-8', 'internal error\n', head));
      return;
    }
    if (path === '/health' || path === '/metrics') {
      const authorized = options.authorize ? options.authorize(request) : Promise.resolve(true);
      void authorized
        .then(async (allowed) => {
          if (path === '/health')
            return send(
              response,
              200,
              'application/json; charset=utf-8',
              allowed ? JSON.stringify(options.health()) : BARE_HEALTH,
              head,
            );
          if (!allowed) {
            return send(
              response,
              401,
              'text/plain; charset=utf-8',
              'the auth token is required: Authorization: Bearer <token>, or ?token=<token>\n',
              head,
              { 'www-authenticate': 'Bearer' },
            );
          }
          send(response, 200, options.metrics.contentType, await options.metrics.metrics(), head);
        })
        .catch((error: unknown) =>
          send(response, 500, 'text/plain; charset=utf-8', `${path.slice(1)} failed: ${String(error)}\n`, head),
        );
      return;
    }
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file) return send(response, 200, file.type, file.body, head, DEMO_SECURITY_HEADERS);
    const hint = `llm-ws server: connect a WebSocket client to ${options.wsPath}\n`;
    if (path === '/') return send(response, 200, 'text/plain; charset=utf-8', hint, head);
    send(response, 404, 'text/plain; charset=utf-8', `not found; ${hint}`, head);
  };
}
