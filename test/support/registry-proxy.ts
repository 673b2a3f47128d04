// A switchable HTTP proxy in front of the bed's schema registry, on 127.0.0.1: it forwards every request
// until `goDown()`, then closes each connection unanswered (as a registry that is down or unreachable
// would), until `comeBack()`. The bed's registry itself is shared by every test and never stopped.
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A proxy to the registry that can be made to refuse. */
export interface RegistryProxy {
  /** The registry's base URL through the proxy (same path as the registry's). */
  readonly url: string;
  /** Requests closed unanswered so far. */
  readonly refused: () => number;
  /** From now on, every request's connection is closed unanswered. */
  readonly goDown: () => void;
  /** From now on, requests are forwarded again. */
  readonly comeBack: () => void;
  readonly close: () => Promise<void>;
}

/** Starts a proxy to the registry at `registryUrl` (its Confluent-compatible base URL). */
export async function registryProxy(registryUrl: string): Promise<RegistryProxy> {
  const target = new URL(registryUrl);
  let down = false;
  let refused = 0;
  const server = createServer((req, res) => {
    if (down) {
      refused += 1;
      req.socket.destroy();
      return;
    }
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`,
    refused: () => refused,
    goDown: () => {
      down = true;
    },
    comeBack: () => {
      down = false;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
