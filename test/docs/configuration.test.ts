// docs/configuration.md against the code: every variable the config schema reads, every flag of the
// CLI, every prop of the constructs and every context key of the app has its row, no row names one
// that does not exist, and the defaults it states are the ones the schema applies. So the reference
// cannot drift from the settings.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ContextKeys, PipelineContextKeys } from '../../lib/stack-context.js';
import { allPipelineFlags } from '../../src/cli/pipeline-flags.js';
import { ConfigVariables, loadConfig } from '../../src/config.js';
import { codeSpans, column, readPage, section, type Table, tables } from '../support/markdown.js';

const page = readPage('docs/configuration.md');
const [settings] = tables(section(page, 'Pipeline settings')) as [Table];
const [pipelineOnly, pullerOnly, appOnly] = tables(section(page, 'Deployment settings')) as [
  Table,
  Table,
  Table,
];

/** The names in a column's code spans (a flag cell `--output s3://<bucket>/<prefix>` gives `--output`). */
const names = (table: Table, name: string) =>
  column(table, name).flatMap((cell) => codeSpans(cell).map((span) => span.split(/[ =]/)[0] as string));

/**
 * The properties of an interface exported from the package's main entry, read from the source's syntax:
 * re-exports and `extends` are followed through the project's own files (a type-checked program would
 * load all of aws-cdk-lib's declarations, tens of seconds).
 */
function propsOf(
  interfaceName: string,
  file = fileURLToPath(new URL('../../lib/index.ts', import.meta.url)),
): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const local = (specifier: string) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement) && statement.name.text === interfaceName) {
      const own = statement.members.flatMap((m) => (m.name && ts.isIdentifier(m.name) ? [m.name.text] : []));
      const inherited = (statement.heritageClauses ?? []).flatMap((clause) =>
        clause.types.flatMap((t) => propsOf(t.expression.getText(source), file)),
      );
      return [...own, ...inherited];
    }
    const from =
      (ts.isExportDeclaration(statement) || ts.isImportDeclaration(statement)) && statement.moduleSpecifier;
    if (!from || !ts.isStringLiteral(from) || !from.text.startsWith('.')) continue;
    const clause = ts.isExportDeclaration(statement)
      ? statement.exportClause
      : statement.importClause?.namedBindings;
    if (clause && (ts.isNamedExports(clause) || ts.isNamedImports(clause))) {
      if (clause.elements.some((e) => e.name.text === interfaceName))
        return propsOf(interfaceName, local(from.text));
    }
  }
  throw new Error(`no interface ${interfaceName} reachable from ${file}`);
}

describe('docs/configuration.md', () => {
  it('has one row for every variable the config schema reads, and no other', () => {
    expect(names(settings, 'Variable').sort()).toEqual(Object.values(ConfigVariables).sort());
  });

  it('names every CLI flag that sets a variable, and no other', () => {
    const documented = new Set(names(settings, 'CLI flag').map((flag) => flag.replace(/^--/, '')));
    // `--output` and `--state` set two variables each; the prefix is part of `--output`.
    expect([...documented].sort()).toEqual(
      [...new Set(allPipelineFlags.map((flag) => flag.name).concat('output', 'state'))].sort(),
    );
  });

  it('names every prop of the pipeline options and of the puller, and no other', () => {
    const pipelineProps = [...new Set([...names(settings, 'Prop'), ...names(pipelineOnly, 'Prop')])].filter(
      (name) => !name.startsWith('puller.'),
    );
    const pullerProps = [
      ...names(settings, 'Prop')
        .filter((name) => name.startsWith('puller.'))
        .map((name) => name.slice(7)),
      ...names(pullerOnly, 'Prop'),
    ];
    expect(pipelineProps.sort()).toEqual(propsOf('PullerPipelineOptions').sort());
    expect(pullerProps.sort()).toEqual(propsOf('KafkaBatchPullerProps').sort());
  });

  it('names every context key of the app, and no other', () => {
    const documented = new Set([
      ...names(settings, 'Context key'),
      ...names(pipelineOnly, 'Context key'),
      ...names(pullerOnly, 'Context key'),
      ...names(appOnly, 'Context key'),
    ]);
    expect([...documented].sort()).toEqual(
      [...new Set([...Object.values(ContextKeys), ...PipelineContextKeys])].sort(),
    );
  });

  it('states the defaults the config schema applies', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'b:9092',
      KAFKA_TOPIC: 't',
      KAFKA_GROUP_ID: 'g',
      BATCH_INTERVAL_SECONDS: '60',
      POLL_INTERVAL_SECONDS: '5',
      OUTPUT_DIRECTORY: 'out',
      STATE_FILE: 'state.json',
    });
    const mib = (bytes: number) => String(bytes / 1024 / 1024);
    const applied: Record<string, string> = {
      FUTURE_TOLERANCE_SECONDS: String(config.futureToleranceMs / 1000),
      START_POSITION: config.startPosition.kind,
      OUTPUT_FORMAT: config.format,
      COMPRESSION: config.compression,
      COMPRESSION_LEVEL: String(config.compressionLevel),
      VALUE_FORMAT: config.valueFormat,
      KEY_FORMAT: config.keyFormat,
      PART_SIZE_MB: mib(config.partSizeBytes),
      FETCH_PARTITION_MB: mib(config.fetch.maxBytesPerPartition),
      FETCH_QUEUE_MB: mib(config.fetch.maxQueuedBytes),
      SHARDS: String(config.shards),
      KAFKA_SECURITY: config.security.mechanism,
      SAFETY_MARGIN_SECONDS: String(config.safetyMarginMs / 1000),
      KAFKA_CLIENT_ID: config.clientId,
      TABLE_FORMAT: config.table.format,
    };
    const defaults = new Map(settings.rows.map((row) => [codeSpans(row[0] ?? '')[0], row[4] ?? '']));
    for (const [variable, value] of Object.entries(applied)) {
      expect(codeSpans(defaults.get(variable) ?? '')[0], variable).toBe(value);
    }
  });

  it('states the defaults of the CLI’s flags', () => {
    const rowOf = new Map(
      settings.rows.map((row) => [codeSpans(row[1] ?? '')[0]?.split(/[ =]/)[0], row[4] ?? ''] as const),
    );
    for (const flag of allPipelineFlags.filter((f) => f.default !== undefined && f.variable !== undefined)) {
      const cell = rowOf.get(`--${flag.name}`) ?? '';
      // The cell gives the flag's default itself, or as "CLI: `value`" beside the function's.
      expect(codeSpans(cell), `--${flag.name}: ${cell}`).toContain(flag.default);
    }
  });
});
