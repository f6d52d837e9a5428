import { createServer, type AddressInfo } from 'node:net';

/**
 * A loopback port nobody listens on right now, for a reader child's --api-port or a broker
 * (`reader-sim start` wants a number, not 0). Shared by the testkit, the bench and the soak.
 */
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
