// The runbook (docs/operations.md) keeps up with the code: an entry for every error class the puller
// raises, every alarm the constructs synthesize (named as in the alarm's name, with the metrics it watches
// and how it treats missing data) and every metric the function publishes. Pure: reads the page and
// synthesizes stacks.
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller, KafkaSecurityMode, PullerMetric } from '../../lib/index.js';
import * as workerErrors from '../../src/cli/worker-shard-runner.js';
import * as errors from '../../src/errors.js';
import { PullerError } from '../../src/errors.js';
import * as icebergErrors from '../../src/iceberg/iceberg-errors.js';
import * as stepErrors from '../../src/lambda/step-events.js';
import * as operatorErrors from '../../src/operator-errors.js';
import { newStack } from '../cdk/support.js';

const page = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

/** The `###` entries of the page's `## <title>` section: heading line to the text under it. */
function entriesOf(title: string): Map<string, string> {
  const section = page.split(`\n## ${title}\n`)[1]?.split('\n## ')[0] ?? '';
  const entries = new Map<string, string>();
  for (const entry of section.split('\n### ').slice(1)) {
    const [heading = '', ...body] = entry.split('\n');
    entries.set(heading, body.join('\n'));
  }
  return entries;
}

/** The entry whose heading names `name` in backticks. */
function entryNaming(entries: Map<string, string>, name: string): string | undefined {
  for (const [heading, body] of entries) if (heading.includes(`\`${name}\``)) return body;
  return undefined;
}

const PIPELINE_ID = 'Payments';
const PULLER_ID = 'Puller';

/** The alarms of a puller with one pipeline, as synthesized: every shape whose alarms differ. */
function synthesizedAlarms(shards: number): Array<[string, Record<string, unknown>]> {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, PULLER_ID, {
    brokers: ['broker-1:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    alarmTopic: new sns.Topic(stack, 'Alarms'),
  });
  puller.addPipeline(PIPELINE_ID, { topic: 'payments', shards });
  const alarms = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm');
  return Object.entries(alarms).map(([logicalId, resource]) => [
    alarmNameOf(logicalId, resource.Properties),
    resource.Properties,
  ]);
}

/**
 * What an operator sees of the alarm in its name: its own name when set, otherwise the construct's part of
 * the logical id (CloudFormation names an alarm `<stack>-<logical id>-<random>`), without the puller's and
 * the pipeline's ids and the hash.
 */
function alarmNameOf(logicalId: string, properties: Record<string, unknown>): string {
  if (typeof properties.AlarmName === 'string') return properties.AlarmName;
  return logicalId
    .replace(/[0-9A-F]{8}$/, '')
    .replace(new RegExp(`^${PULLER_ID}`), '')
    .replace(new RegExp(`^${PIPELINE_ID}`), '');
}

/** The metric names an alarm watches: its own metric, or each metric of its math expression. */
function watchedMetrics(properties: Record<string, unknown>): string[] {
  if (typeof properties.MetricName === 'string') return [properties.MetricName];
  const metrics = (properties.Metrics ?? []) as Array<{ MetricStat?: { Metric?: { MetricName?: string } } }>;
  return metrics.flatMap((m) => (m.MetricStat?.Metric?.MetricName ? [m.MetricStat.Metric.MetricName] : []));
}

const MISSING_DATA: Readonly<Record<string, string>> = {
  breaching: 'Missing data is breaching',
  notBreaching: 'Missing data is not breaching',
};

describe('the operations runbook', () => {
  it('has an entry for every error class the puller raises', () => {
    const entries = entriesOf('Errors');
    const classes = [errors, operatorErrors, stepErrors, workerErrors, icebergErrors]
      .flatMap((module) => Object.values(module))
      .filter((value) => value === PullerError || value?.prototype instanceof PullerError)
      .map((value) => (value as { name: string }).name);
    const missing = classes.filter((name) => entryNaming(entries, name) === undefined);
    expect(missing).toEqual([]);
    expect(classes.length).toBeGreaterThan(15);
  });

  it.each([1, 2])(
    'has an entry for every alarm a pipeline with %i shard(s) synthesizes, naming its metrics',
    (shards) => {
      const entries = entriesOf('Alarms');
      const alarms = synthesizedAlarms(shards);
      expect(alarms.length).toBeGreaterThan(0);
      for (const [name, properties] of alarms) {
        const entry = entryNaming(entries, name);
        expect(entry, `no entry for the alarm ${name}`).toBeDefined();
        for (const metric of watchedMetrics(properties))
          expect(entry, `the entry for ${name} does not name ${metric}`).toContain(`\`${metric}\``);
        const missingData = MISSING_DATA[String(properties.TreatMissingData)];
        if (missingData) expect(entry, `the entry for ${name} says otherwise`).toContain(missingData);
      }
    },
  );

  it('has an entry for every metric the function publishes', () => {
    const entries = entriesOf('Metrics');
    const missing = Object.values(PullerMetric).filter((name) => entryNaming(entries, name) === undefined);
    expect(missing).toEqual([]);
  });

  it('puts every shell command in a bash block', () => {
    const fences = [...page.matchAll(/^[ \t]*```(\S*)(?: (\S+))?$/gm)].filter((_, i) => i % 2 === 0);
    const kinds = new Set(fences.map(([, language, tag]) => [language, tag].filter(Boolean).join(' ')));
    expect([...kinds].sort()).toEqual(['bash', 'bash aws', 'text']);
  });
});
