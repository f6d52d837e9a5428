import { createServer, type AddressInfo } from 'node:net';

/** A port nobody listens on right now (a reader's API must not collide with parallel suites). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
