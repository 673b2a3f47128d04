// Registry-encoded values on a real broker, without a registry: what needs no schema never reaches one.
// A value that is not in Confluent's wire format lands in the window's errors object with its reason,
// and the run does not ask the registry (its URL here answers nothing) for it.
import { describe, expect, it } from 'vitest';
import type { ErrorRow } from '../src/core/record-format.js';
import {
  createTopic,
  getObject,
  newPipeline,
  parseNdjson,
  produce,
  readLanded,
  runOnce,
} from './support/bed.js';
import { windowClock } from './support/shard-bed.js';

const MINUTE = 60_000;
/** Nothing listens here: a lookup would fail the run. */
const NO_REGISTRY = 'http://127.0.0.1:9';

describe('registry-encoded values without a registry', () => {
  it('sends values without the magic byte, or too short for a schema id, to the errors object with the reason', async () => {
    const topic = await createTopic(1);
    const t = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    await produce(topic, [
      { partition: 0, timestamp: t + 1, value: '{"plain":"json"}' },
      { partition: 0, timestamp: t + 2, value: Buffer.from([0, 0, 1]) },
      { partition: 0, timestamp: t + 3, value: null },
      { partition: 0, timestamp: t + MINUTE },
    ]);
    const { bucket, config } = await newPipeline(topic, {
      VALUE_FORMAT: 'confluent',
      SCHEMA_REGISTRY_URL: NO_REGISTRY,
    });
    await runOnce(config, { now: windowClock(MINUTE) });

    const [manifest] = (await readLanded(bucket)).manifests;
    const errorsObject = manifest?.objects.find((o) => o.kind === 'errors');
    const errors = parseNdjson(
      errorsObject?.key ?? '',
      await getObject(bucket, errorsObject?.key ?? ''),
    ) as ErrorRow[];
    expect(errors.map((e) => [e.offset, e.reason])).toEqual([
      [0, "the value does not start with the schema registry's magic byte 0 (it starts with 123)"],
      [1, 'the value is 3 bytes, shorter than the 5-byte schema registry header'],
    ]);
    expect(errors[1]?.record).toMatchObject({ value: '\u0000\u0000\u0001', valueEncoding: 'utf8' });
    // The null value needs no schema: it lands as a row.
    expect(manifest?.totals).toMatchObject({ records: 1, errorRecords: 2 });
  });
});
