import { createServer } from 'node:net';

/**
 * A free loopback TCP port: bound on 127.0.0.1 port 0, then released. For starting a child
 * process (a server, Redis, a fake provider) on a known port; another process may take the port
 * between the release and the child's bind, so callers start their child at once. Shared by the
 * test support (test/support/cluster.ts) and the benchmark (bench/); neither imports the other.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
