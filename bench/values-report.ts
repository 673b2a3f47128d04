// The values scenario's section of the report: each variant's rate and CPU, per GiB of its own values
// and per million records (the Avro values are smaller than the JSON ones, so only the second compares
// the work per event), then each Avro variant over the JSON variant of its output format, run by run.
import type { RunSample } from './bench-context.js';
import {
  VALUE_COLUMNS,
  type ValueEncoding,
  type ValuesFigures,
  type ValueVariantFigures,
} from './measure-values.js';
import { fixed, integer, markdownTable, spread } from './summary-table.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** The figures of one run, per record and per byte of the values it landed. */
function perRun(run: RunSample, records: number, valueBytes: number) {
  return {
    recordsPerSecond: records / (run.elapsedMs / 1000),
    cpuPerMillionRecords: run.cpuMs / 1000 / (records / 1e6),
    cpuPerGiB: run.cpuMs / 1000 / (valueBytes / GiB),
  };
}

/** The values scenario as Markdown: `records` records per topic. */
export function valuesSection(figures: ValuesFigures, records: number): string {
  const bytesOf = (encoding: ValueEncoding) => figures.valueBytes[encoding];
  const runsOf = (row: ValueVariantFigures) =>
    row.runs.map((run) => perRun(run, records, bytesOf(row.encoding)));
  const rows = markdownTable(
    [
      'values, output',
      'records/s',
      'CPU s per million records',
      'CPU s per GiB of its values',
      'MiB/s of its values',
      'bytes written per record',
      'peak RSS MiB',
    ],
    figures.rows.map((row) => [
      row.variant.label,
      spread(
        runsOf(row).map((r) => r.recordsPerSecond),
        integer,
      ),
      spread(
        runsOf(row).map((r) => r.cpuPerMillionRecords),
        fixed(1),
      ),
      spread(
        runsOf(row).map((r) => r.cpuPerGiB),
        fixed(1),
      ),
      spread(
        row.runs.map((r) => bytesOf(row.encoding) / MiB / (r.elapsedMs / 1000)),
        fixed(1),
      ),
      spread(
        row.runs.map((r) => r.bytesWritten / records),
        integer,
      ),
      spread(
        row.runs.map((r) => r.peakRssBytes / MiB),
        integer,
      ),
    ]),
  );
  const ratios = markdownTable(
    [
      'Avro variant (over JSON to the same format)',
      'records/s, Avro / JSON',
      'CPU per million records, Avro / JSON',
      'CPU per GiB of values, Avro / JSON',
    ],
    figures.rows.flatMap((avro) => {
      const json = figures.rows.find((r) => r.output === avro.output && r.encoding === 'json');
      if (avro.encoding !== 'avro' || !json) return [];
      // Runs of one round ran back to back, so each Avro run is compared with its round's JSON run.
      const paired = (pick: (r: ReturnType<typeof perRun>) => number) =>
        spread(
          runsOf(avro).map((a, round) => {
            const j = runsOf(json)[round];
            return j ? pick(a) / pick(j) : Number.NaN;
          }),
          fixed(2),
        );
      return [
        [
          avro.variant.label.replace(/^Avro values, /, ''),
          paired((r) => r.recordsPerSecond),
          paired((r) => r.cpuPerMillionRecords),
          paired((r) => r.cpuPerGiB),
        ],
      ];
    }),
  );
  const perRecord = (encoding: ValueEncoding) => integer(bytesOf(encoding) / records);
  return `## Avro values against JSON values (values)

The same ${integer(records)} order events produced twice: as JSON text (${perRecord('json')} B a value) and as
Avro in Confluent's wire format (${perRecord('avro')} B a value on average, the 5-byte framing included; ${((100 * bytesOf('avro')) / bytesOf('json')).toFixed(0)} % of
the JSON bytes), its schema registered as id ${figures.registry.schemaId}. JSON values are read with
\`VALUE_FORMAT=json\`, Avro ones with \`VALUE_FORMAT=confluent\`. In NDJSON both land as the same nested
JSON; in Parquet JSON values are JSON text with two declared columns (\`${VALUE_COLUMNS}\`), Avro
values the typed \`value\` column of their schema, with no declared column and with the same two. CPU
per GiB counts each topic's own value bytes; CPU per million records compares the work per event.

${rows}

Each Avro variant over the JSON one of its output format, the median of each round's ratio (min–max):

${ratios}`;
}
