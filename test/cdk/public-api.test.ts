// What the package's two entries export at run time: the public API and nothing internal (the CDK app's
// context parsing, helper classes, the construct-id rule). Types are checked by the tests that import
// them from these entries, and by the pack-and-install test's type-check of a user's app.
import { describe, expect, it } from 'vitest';
import * as constructs from '../../lib/index.js';
import * as handlerEntry from '../../src/lambda/index.js';

describe('the package entries', () => {
  it("'kafka-batch-puller' exports the constructs, their enums and StartPosition, and no internals", () => {
    expect(Object.keys(constructs).sort()).toEqual([
      'ColumnType',
      'Compression',
      'KafkaBatchPuller',
      'KafkaBatchPullerStack',
      'KafkaSecurityMode',
      'OutputFormat',
      'PipelineGlueTable',
      'PipelineIcebergTable',
      'PullerLogLevel',
      'PullerMetric',
      'PullerPipeline',
      'ShardStateMachine',
      'StartPosition',
      'TableFormat',
      'ValueFormat',
    ]);
  });

  it("'kafka-batch-puller/handler' exports createHandler, the default handler and the names its results use", () => {
    expect(Object.keys(handlerEntry).sort()).toEqual([
      'PullerMetric',
      'RunOutcome',
      'createHandler',
      'handler',
    ]);
    expect(typeof handlerEntry.createHandler({ parseRecord: (row) => row })).toBe('function');
  });
});
