/**
 * The Content-Security-Policy of the demo page and its assets. Scripts and styles come from the
 * page's own origin only (no inline script, no eval), the WebSocket goes back to that origin,
 * nothing may frame the page, and DOM sinks take only values from DOMPurify's Trusted Types
 * policy: if markup from the model ever got past the sanitiser, the browser would still refuse
 * to run it. Pictures come from the origin or from `blob:` URLs the page made itself (attachments'
 * thumbnails).
 */
export const DEMO_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: for the thumbnails of attachments, made by the page from bytes it holds (never a remote URL).
  "img-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types dompurify',
].join('; ');

/**
 * Security headers sent with every file of the demo page (`WSServerOptions.demoDir`): the CSP
 * above, `X-Frame-Options` for browsers without `frame-ancestors`, no MIME sniffing, and no
 * Referer to the links a model's answer contains.
 */
export const DEMO_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DEMO_CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
