// Runs a window's shards on worker threads, one per shard, so that they use every core: each thread
// reads, encodes and compresses its partitions, while the main thread plans and finalizes.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PullerConfig } from '../config.js';
import { type ShardRunner, settleShards } from '../engine/shard-runner.js';
import type { ShardResult, ShardTask } from '../engine/step-types.js';
import { FailureKind, failureKindOf, PullerError } from '../errors.js';
import type { ShardWorkerData, ShardWorkerReply, ShardWorkerRequest } from './shard-worker-protocol.js';

// The worker's file beside this one: .ts when run from source (tsx, which workers inherit), .js when built.
const workerFile = new URL(`./shard-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Starts a shard worker. From source (tests, `npm run` scripts) the worker is TypeScript: workers do not
 * inherit the tsx loader on Node 20, so a two-line bootstrap registers it in the thread first.
 */
function startWorker(data: ShardWorkerData): Worker {
  if (!workerFile.pathname.endsWith('.ts')) return new Worker(workerFile, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(workerFile.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

/** A shard's failure, as its worker thread reported it. */
export class ShardWorkerError extends PullerError {
  constructor(shard: number, name: string, message: string, kind: FailureKind) {
    super(`shard ${shard} failed (${name}): ${message}`, { kind });
    this.name = 'ShardWorkerError';
  }
}

/** Runs shards on worker threads started on first use and kept for the run; aborting `signal` stops them. */
export function workerShardRunner(
  config: PullerConfig,
  deadlineMs: number,
  signal?: AbortSignal,
): ShardRunner {
  const workers = new Map<number, Worker>();
  const send = (worker: Worker, request: ShardWorkerRequest) => worker.postMessage(request);
  const onAbort = () => {
    for (const worker of workers.values()) send(worker, { type: 'abort' });
  };
  signal?.addEventListener('abort', onAbort);

  const workerFor = (shard: number): Worker => {
    let worker = workers.get(shard);
    if (!worker) {
      const data: ShardWorkerData = { config, deadlineMs };
      worker = startWorker(data);
      if (signal?.aborted) send(worker, { type: 'abort' });
      workers.set(shard, worker);
    }
    return worker;
  };

  const run = (task: ShardTask) =>
    new Promise<ShardResult>((resolve, reject) => {
      const worker = workerFor(task.shard);
      const onExit = (code: number) =>
        reject(
          new ShardWorkerError(
            task.shard,
            'WorkerExit',
            `the worker thread exited with code ${code}`,
            FailureKind.TRANSIENT,
          ),
        );
      const onError = (error: Error) => {
        worker.off('exit', onExit);
        reject(new ShardWorkerError(task.shard, error.name, error.message, failureKindOf(error)));
      };
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.once('message', (reply: ShardWorkerReply) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        if (reply.type === 'result') resolve(reply.result);
        else reject(new ShardWorkerError(task.shard, reply.name, reply.message, reply.kind));
      });
      send(worker, { type: 'shard', task });
    });

  return {
    run: (tasks) => settleShards(tasks.map(run)),
    close: async () => {
      signal?.removeEventListener('abort', onAbort);
      await Promise.all(
        [...workers.values()].map(
          (worker) =>
            new Promise<void>((resolve) => {
              worker.once('exit', () => resolve());
              send(worker, { type: 'close' });
              // A worker stuck on a connection must not keep the command alive.
              setTimeout(() => void worker.terminate(), 5000).unref();
            }),
        ),
      );
      workers.clear();
    },
  };
}
