// An HTTP proxy in front of the Iceberg catalog that forwards every request, and for those a rule picks
// waits for the catalog's answer (so the request is applied) and then drops the connection instead of
// passing the answer on: the client sees a commit whose answer was lost.
import { once } from 'node:events';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running proxy. */
export interface AnswerDroppingProxy {
  readonly url: string;
  /** Requests whose answers were dropped. */
  readonly dropped: Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

/** Starts a proxy to `target` that drops the answers of the first `times` requests `pick` selects. */
export async function answerDroppingProxy(
  target: string,
  pick: (method: string, path: string) => boolean,
  times = 1,
): Promise<AnswerDroppingProxy> {
  const upstream = new URL(target);
  const dropped: AnswerDroppingProxy['dropped'] = [];
  const server = createServer((incoming: IncomingMessage, outgoing) => {
    const method = incoming.method ?? 'GET';
    const path = incoming.url ?? '/';
    const drop = dropped.length < times && pick(method, path);
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (answer) => {
        if (drop) {
          answer.resume();
          answer.on('end', () => {
            dropped.push({ method, path, status: answer.statusCode ?? 0 });
            incoming.socket.destroy();
          });
          return;
        }
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => incoming.socket.destroy());
    incoming.pipe(forwarded);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dropped,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
