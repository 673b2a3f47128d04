// Scenario values: registry-encoded Avro values against JSON values, end to end through the puller. The
// same order events are produced twice, as JSON text and as Confluent-framed Avro with the schema
// registered in the test bed's registry, and each topic is landed to NDJSON and to Parquet, the variants
// taking turns run by run. In Parquet the two encodings land differently, as a user would configure
// them: JSON values as JSON text with two declared columns, Avro values as the typed `value` column of
// their schema's shape, with no declared column and with the same two.
// The registry helpers are the test bed's own: the bench uses the registry exactly as the tests do.
import { randomUUID } from 'node:crypto';
import { registerSchema, registryUrl, stopRegistryStartedDuringRun } from '../test/support/registry-bed.js';
import { type BenchContext, produceTopic } from './bench-context.js';
import { landInTurn, type VariantFigures } from './measure-variants.js';
import { confluentAvroOrder, ORDER_AVRO_SCHEMA } from './order-avro.js';

/** How the values of a topic are encoded. */
export type ValueEncoding = 'json' | 'avro';

/** The two declared Parquet columns, read from either encoding's decoded value. */
export const VALUE_COLUMNS = 'order_id:string:orderId,total:double:total';

/** One variant of the scenario and its runs. */
export interface ValueVariantFigures extends VariantFigures {
  /** The encoding of the values it landed. */
  readonly encoding: ValueEncoding;
  /** The output format it wrote. */
  readonly output: 'ndjson' | 'parquet';
}

/** What the values scenario measured. */
export interface ValuesFigures {
  /** The produced values' bytes of each encoding's topic (the Avro ones with their 5-byte framing). */
  readonly valueBytes: Readonly<Record<ValueEncoding, number>>;
  /** The registry the Avro schema was registered in, and its id there. */
  readonly registry: { readonly url: string; readonly schemaId: number };
  /** Each variant's runs: JSON and Avro to NDJSON, then JSON and Avro (twice) to Parquet. */
  readonly rows: readonly ValueVariantFigures[];
}

/**
 * The five variants: JSON values (`VALUE_FORMAT=json`, parsed as the Avro ones are decoded) and Avro
 * values (`VALUE_FORMAT=confluent`) to NDJSON with the bench's codec (gzip by default); JSON values to
 * Parquet (snappy) as JSON text with {@link VALUE_COLUMNS}, which is how a user reads their fields; Avro
 * values to Parquet as the typed `value` column, which needs no declared column, with none and with
 * {@link VALUE_COLUMNS} (the same work as JSON's, on top of the typed column).
 */
export function valueVariants(
  ndjsonCompression: string,
  schemaRegistryUrl: string,
): Array<Omit<ValueVariantFigures, 'runs'>> {
  const encodings = {
    json: { label: 'JSON', variables: { VALUE_FORMAT: 'json' } },
    avro: { label: 'Avro', variables: { VALUE_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: schemaRegistryUrl } },
  };
  const variant = (
    encoding: ValueEncoding,
    output: 'ndjson' | 'parquet',
    outputLabel: string,
    variables: Record<string, string>,
  ): Omit<ValueVariantFigures, 'runs'> => ({
    variant: {
      label: `${encodings[encoding].label} values, ${outputLabel}`,
      variables: { ...encodings[encoding].variables, OUTPUT_FORMAT: output, ...variables },
    },
    encoding,
    output,
  });
  const ndjson = { COMPRESSION: ndjsonCompression };
  const parquet = { COMPRESSION: 'snappy' };
  return [
    variant('json', 'ndjson', `NDJSON, ${ndjsonCompression}`, ndjson),
    variant('avro', 'ndjson', `NDJSON, ${ndjsonCompression}`, ndjson),
    variant('json', 'parquet', 'Parquet, snappy, JSON text + 2 columns', { ...parquet, VALUE_COLUMNS }),
    variant('avro', 'parquet', 'Parquet, snappy, typed value', parquet),
    variant('avro', 'parquet', 'Parquet, snappy, typed value + 2 columns', { ...parquet, VALUE_COLUMNS }),
  ];
}

/**
 * Registers the order events' Avro schema, produces the events as JSON and as Avro (the same records,
 * timestamps and partitions), and lands each topic with its NDJSON and Parquet variants `options.runs`
 * times, interleaved. Starts the bed's registry when none runs (and stops it again at the end).
 */
export async function measureValues(context: BenchContext): Promise<ValuesFigures> {
  const { options, log } = context;
  const releaseRegistry = await stopRegistryStartedDuringRun();
  try {
    const url = await registryUrl();
    const produce = (label: string, values: Parameters<typeof produceTopic>[4]) =>
      produceTopic(context, label, options.records, options.windows, values);
    // A subject of this bench's own: the puller finds a schema by the id in each value, not by subject.
    const subject = `bench-orders-${randomUUID()}-value`;
    const schemaId = await registerSchema(url, subject, 'AVRO', JSON.stringify(ORDER_AVRO_SCHEMA));
    const json = await produce('values-json', { values: 'json' });
    const avro = await produce('values-avro', { values: 'json', encodeValue: confluentAvroOrder(schemaId) });
    log(`Avro schema registered as id ${schemaId} (${subject}) at ${url}`);
    const ndjsonCompression = options.compression === 'snappy' ? 'gzip' : options.compression;
    const variants = valueVariants(ndjsonCompression, url);
    const topics = { json: json.topic, avro: avro.topic };
    const figures = await landInTurn(
      context,
      'values',
      variants.map(({ variant, encoding }) => ({ variant, topic: topics[encoding] })),
    );
    await context.topics.remove(json.topic);
    await context.topics.remove(avro.topic);
    return {
      valueBytes: { json: json.valueBytes, avro: avro.valueBytes },
      registry: { url, schemaId },
      rows: variants.map((row, index) => ({ ...row, runs: figures[index]?.runs ?? [] })),
    };
  } finally {
    await releaseRegistry();
  }
}
