import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A handler that sends one fixed public asset of the panels (page, script, style, icon).
 * They hold no secret, but stay uncached across versions, unsniffed, and load nothing but
 * this origin's own files.
 */
export function publicAsset(type: string, text: string) {
  return (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .header('content-type', type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
      )
      .send(text);
}

/**
 * `takeToken()` of the panels' browser scripts: the API token from the address's
 * `#token=`, kept in sessionStorage, else asked for with `prompt` (which token it names).
 */
export function takeTokenScript(prompt: string): string {
  return String.raw`  function takeToken() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      // Keep the token out of the address bar and the history.
      history.replaceState(null, '', location.pathname + location.search);
    }
    var token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      token = (window.prompt('${prompt}') || '').trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
    }
    return token;
  }`;
}
