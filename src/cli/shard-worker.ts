// A worker thread that builds one shard of each window it is given, with adapters of its own (its own
// Kafka connection), kept for the whole run so that fetching runs on between windows.
import { parentPort, workerData } from 'node:worker_threads';
import { createAdapters } from '../adapters/create-adapters.js';
import type { PullerConfig } from '../config.js';
import { buildShard } from '../engine/build-shard.js';
import { SourceReader } from '../engine/source-reader.js';
import { failureKindOf } from '../errors.js';
import type { ShardWorkerData, ShardWorkerReply, ShardWorkerRequest } from './shard-worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('shard-worker runs only as a worker thread');
const { config, deadlineMs } = workerData as ShardWorkerData;
const stop = new AbortController();
const adapters = createAdapters(config as PullerConfig, { deadlineMs });
let reader: SourceReader | undefined;

port.on('message', async (request: ShardWorkerRequest) => {
  if (request.type === 'abort') {
    stop.abort();
    return;
  }
  if (request.type === 'close') {
    await (await adapters).close().catch(() => {});
    port.close();
    return;
  }
  let reply: ShardWorkerReply;
  try {
    const { source, sink, store, schemas } = await adapters;
    // One reader for the worker's one source, whose fetch positions and carried batches outlive a window.
    reader ??= new SourceReader(source);
    const result = await buildShard(
      {
        config,
        source,
        reader,
        sink,
        store,
        ...(schemas ? { schemas } : {}),
        attemptId: request.task.attemptId,
        deadlineMs,
        signal: stop.signal,
      },
      request.task,
    );
    reply = { type: 'result', result };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply = {
      type: 'error',
      name: e.name,
      message: e.message,
      kind: failureKindOf(error),
    };
  }
  port.postMessage(reply);
});
