import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offlineProvider } from '../../src/llm/offline-provider';
import { DEMO_CONTENT_SECURITY_POLICY, DEMO_SECURITY_HEADERS } from '../../src/server/demo-headers';
import { silentLogger } from '../../src/server/logger';
import { WSServer } from '../../src/server/ws-server';

/** The demo page's security headers over loopback HTTP (the browser test checks they work in Chromium). */
describe('demo page headers', () => {
  let server: WSServer;
  afterEach(async () => {
    await server?.stop();
  });

  it('sends the CSP, X-Frame-Options, nosniff and Referrer-Policy with every demo file, and only with those', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-ws-demo-'));
    writeFileSync(join(dir, 'index.html'), '<h1>chat</h1>');
    writeFileSync(join(dir, 'app.js'), 'export {}');
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    server = new WSServer({
      port: 0,
      hostname: '127.0.0.1',
      logger: silentLogger,
      llm: offlineProvider(),
      demoDir: dir,
    });
    await server.start();
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ['/', '/index.html', '/app.js', '/favicon.svg']) {
      for (const method of ['GET', 'HEAD']) {
        const response = await fetch(`${base}${path}`, { method });
        expect([method, path, response.status]).toEqual([method, path, 200]);
        for (const [name, value] of Object.entries(DEMO_SECURITY_HEADERS))
          expect([path, name, response.headers.get(name)]).toEqual([path, name, value]);
        await response.arrayBuffer();
      }
    }
    expect((await fetch(`${base}/favicon.svg`)).headers.get('content-type')).toBe('image/svg+xml');
    const health = await fetch(`${base}/health`);
    expect(health.headers.get('content-security-policy')).toBeNull();
    await health.body?.cancel();
  });

  it('allows no inline or eval script, and no framing', () => {
    const directives = new Map(
      DEMO_CONTENT_SECURITY_POLICY.split('; ').map((directive) => [directive.split(' ')[0], directive]),
    );
    expect(directives.get('script-src')).toBe("script-src 'self'");
    expect(directives.get('default-src')).toBe("default-src 'none'");
    expect(directives.get('frame-ancestors')).toBe("frame-ancestors 'none'");
    expect(DEMO_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|\*/);
  });
});
