// A window's Parquet parts as Iceberg data file entries, with the column bounds readers prune by. Pure.
import type { FinishedPart } from '../core/pipeline-state.js';
import type { DataFileEntry } from './avro-files.js';
import type { IcebergSchema } from './ports.js';

/** Iceberg's single-value form of an int: 4 bytes, little-endian. */
function intBytes(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  return buf;
}

/** Iceberg's single-value form of a long (and of a timestamp, in microseconds): 8 bytes, little-endian. */
function longBytes(value: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigInt64LE(value);
  return buf;
}

/** The ids of the envelope fields a part's bounds are known for, from the table's schema. */
function envelopeIds(schema: IcebergSchema) {
  const idOf = (name: string) => {
    const field = schema.fields.find((f) => f.name === name);
    if (field === undefined) throw new Error(`the table's schema has no '${name}' column`);
    return field.id;
  };
  return { partition: idOf('partition'), offset: idOf('offset'), timestamp: idOf('timestamp') };
}

/**
 * The data file entry of each part that holds rows. Bounds come from what the part recorded: its
 * partition, its offset range (its rows' offsets lie in it), and the least and greatest timestamp it saw.
 * @param locate the full location (s3://bucket/key) of a part's key
 */
export function dataFileEntriesOf(
  parts: readonly FinishedPart[],
  locate: (key: string) => string,
  schema: IcebergSchema,
): DataFileEntry[] {
  const ids = envelopeIds(schema);
  return parts
    .filter((part) => part.records > 0)
    .map((part) => {
      const lower = new Map([
        [ids.partition, intBytes(part.partition)],
        [ids.offset, longBytes(BigInt(part.firstOffset))],
      ]);
      const upper = new Map([
        [ids.partition, intBytes(part.partition)],
        [ids.offset, longBytes(BigInt(part.nextOffset) - 1n)],
      ]);
      if (part.minTimestampMs !== null && part.maxTimestampMs !== null) {
        lower.set(ids.timestamp, longBytes(BigInt(part.minTimestampMs) * 1000n));
        upper.set(ids.timestamp, longBytes(BigInt(part.maxTimestampMs) * 1000n));
      }
      const counts = new Map([ids.partition, ids.offset, ids.timestamp].map((id) => [id, part.records]));
      return {
        path: locate(part.key),
        records: part.records,
        bytes: part.bytes,
        valueCounts: counts,
        nullCounts: new Map([...counts.keys()].map((id) => [id, 0])),
        lowerBounds: lower,
        upperBounds: upper,
      };
    });
}
