import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Path and query exactly as sent (already percent-encoded): no URL normalisation. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Sends one request over a real socket with node:http (not fetch: fetch normalises paths
 * and refuses bodies on GET). A 2xx event stream is closed once its headers are in. A server
 * that has not answered within `hangMs` is a hang: the request is torn down and this rejects.
 */
export function send(base: string, req: RawRequest, hangMs = 15_000): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: req.path,
      headers: {
        ...req.headers,
        ...(req.body ? { 'content-length': String(req.body.length) } : {}),
      },
      agent: false,
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no answer to ${req.method} ${req.path.slice(0, 200)} within ${hangMs} ms`));
    }, hangMs);
    request.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const contentType = String(response.headers['content-type'] ?? '');
      if (contentType.startsWith('text/event-stream') && status < 300) {
        clearTimeout(timer);
        response.destroy();
        request.destroy();
        resolve({ status, contentType, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status, contentType, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.end(req.body);
  });
}
