// The Content-Security-Policy the dashboard runs under. One definition for both places that serve it: the control
// plane (production, `/`) and `vite preview` (the dashboard's Chromium walkthrough), so the browser test proves the
// production policy does not break the app.

/**
 * Directive → sources. Scripts, workers (Monaco's and monaco-yaml's, bundled by Vite), fonts and API calls come from the
 * same origin only. Styles also allow inline: Mantine sets `style` attributes and Monaco injects `<style>` elements at
 * run time. `data:` images and fonts cover the favicon and small inlined assets. No framing by anyone.
 */
export const dashboardContentSecurityPolicyDirectives: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'worker-src': ["'self'", 'blob:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** The policy as a `Content-Security-Policy` header value. */
export function formatContentSecurityPolicy(
  directives: Readonly<Record<string, readonly string[]>> = dashboardContentSecurityPolicyDirectives,
): string {
  return Object.entries(directives)
    .map(([directive, sources]) => `${directive} ${sources.join(' ')}`)
    .join('; ');
}
