// One pipeline: a topic landed by its own function, run by its own schedule, watched by its own alarms.
// The bucket, state table, failure queue and Kafka connection come from the KafkaBatchPuller it belongs to.
// The constructor is the recipe; each part is made in its own module (options, validation, environment,
// permissions, schedule, alarms, metrics).
import { resolve } from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { TableFormat } from '../src/core/setting-rules.js';
import type { ValueFormat } from '../src/core/value-format.js';
import { PullerMetric } from '../src/metric-names.js';
import { PipelineGlueTable } from './glue-table.js';
import { HANDLER_RUNTIME, prebuiltHandlerFolder, userHandlerBundling } from './handler-bundle.js';
import { PipelineIcebergTable } from './iceberg-table.js';
import type { KafkaBatchPuller } from './kafka-batch-puller.js';
import { createPipelineAlarms } from './pipeline-alarms.js';
import { pipelineEnvironment } from './pipeline-environment.js';
import { pipelineMetric } from './pipeline-metrics.js';
import { type PullerPipelineOptions, resolveOptions } from './pipeline-options.js';
import { grantReadBatches, grantRun, objectFolders, suppressRunFindings } from './pipeline-permissions.js';
import { createPipelineSchedule, maxEventAgeFor } from './pipeline-schedule.js';
import { pipelineProblems } from './pipeline-validation.js';
import { QueueDestination } from './queue-destination.js';
import { ShardStateMachine } from './shard-state-machine.js';

/** Properties of `PullerPipeline`: the pipeline's settings and the puller whose resources it uses. */
export interface PullerPipelineProps extends PullerPipelineOptions {
  /** The puller whose bucket, state table, failure queue and Kafka connection the pipeline uses. */
  readonly puller: KafkaBatchPuller;
}

/**
 * The function's reserved concurrency: one run at a time with one shard (today's shape); with N shards,
 * one execution's N shards plus the plan of the next execution, which may overlap them.
 */
export function reservedConcurrencyFor(shards: number): number {
  return shards === 1 ? 1 : shards + 1;
}

/**
 * One topic landed in S3 as time-windowed batches: a function with reserved concurrency 1, an EventBridge
 * Scheduler schedule that invokes it every batch interval, and an errors and a freshness alarm. With
 * `shards` above 1 the schedule starts a `ShardStateMachine` that runs the function once per step (plan,
 * each shard, finalize) instead. Create it with `KafkaBatchPuller.addPipeline`, or with
 * `new PullerPipeline(scope, id, { puller, topic, ... })`.
 */
export class PullerPipeline extends Construct {
  /** The puller whose bucket, state table, failure queue and Kafka connection the pipeline uses. */
  readonly puller: KafkaBatchPuller;
  /** The topic landed. */
  readonly topic: string;
  /** How record keys are read. */
  readonly keyFormat: ValueFormat;
  /** How record values are read. */
  readonly valueFormat: ValueFormat;
  /** The consumer group; also part of the state item's key (`<groupId>|<topic>`). */
  readonly groupId: string;
  /** Key prefix of the pipeline's objects ('' for the bucket's root). */
  readonly outputPrefix: string;
  /** Window length and schedule rate. */
  readonly batchInterval: Duration;
  /** The function that runs the pipeline. */
  readonly lambdaFunction: lambda.Function;
  /** The function's execution role, holding exactly the permissions the run needs. */
  readonly role: iam.IRole;
  /** The function's log group. */
  readonly logGroup: logs.ILogGroup;
  /** The schedule that invokes the function (or, with shards, starts the state machine) every batch interval. */
  readonly schedule: scheduler.Schedule;
  /** How many shards read a window in parallel. */
  readonly shards: number;
  /** The state machine the schedule starts, when `shards` is above 1. */
  readonly shardStateMachine?: ShardStateMachine;
  /** In alarm when a run fails (with shards: when an execution fails or times out). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** In alarm when windows stop closing, or runs stop reporting. */
  readonly freshnessAlarm: cloudwatch.Alarm;
  /** The Hive-style Glue table over the pipeline's data, unless `glueTable` is false. */
  readonly glueTable?: PipelineGlueTable;
  /** The Iceberg table each closed window is committed to, when `tableFormat` is ICEBERG. */
  readonly icebergTable?: PipelineIcebergTable;

  constructor(scope: Construct, id: string, props: PullerPipelineProps) {
    super(scope, id);
    const { puller, ...options } = props;
    this.puller = puller;

    // 1. Props, with defaults, checked together.
    const o = resolveOptions(options);
    const problems = pipelineProblems(
      o,
      options,
      puller.pipelines.filter((other) => other !== this),
      { url: puller.schemaRegistryUrl, glueName: puller.glueSchemaRegistryName },
    );
    if (problems.length > 0) {
      throw new Error(`Invalid props for pipeline ${this.node.path}:\n  - ${problems.join('\n  - ')}`);
    }
    const { topic, groupId, batchInterval, outputPrefix, shards } = o;
    this.shards = shards;
    this.topic = topic;
    this.keyFormat = o.keyFormat;
    this.valueFormat = o.valueFormat;
    this.groupId = groupId;
    this.outputPrefix = outputPrefix;
    this.batchInterval = batchInterval;

    // 2. Execution role and log group. The role is ours (not Lambda's default with its managed policies)
    // so it holds only the statements below.
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `kafka-batch-puller function for topic ${topic}`,
    });
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: puller.logRetention });
    if (o.tableFormat === TableFormat.ICEBERG) {
      this.icebergTable = new PipelineIcebergTable(this, 'IcebergTable', {
        bucket: puller.bucket,
        dataFolder: objectFolders(outputPrefix, topic)[0],
        databaseName: o.glueDatabaseName,
        tableName: o.glueTableName,
      });
    }

    // 3. The function. A run that fails, or never starts, is made up by the next one: the engine resumes
    // from saved state and catches up the backlog, and writes are idempotent. So nothing retries a run (a
    // retry would only run beside the next scheduled one), and an invocation that waited a whole interval
    // (reserved concurrency 1 queues it behind a long run) is dropped instead of running late next to its
    // successor. Failed and dropped invocations go to the failure queue for inspection.
    // With shards, the state machine invokes the function synchronously, one invocation per step: no
    // asynchronous invocation settings. Its reserved concurrency fits one execution's shards plus the
    // next execution's plan, which may start while the shards of a long run still work (it finds the
    // lease held and stops). Anything more (a retry beside an invocation still running, the shards a failed
    // Map leaves running) is throttled, and the state machine retries it with backoff.
    const functionProps = {
      runtime: HANDLER_RUNTIME,
      architecture: puller.architecture,
      description: `Lands Kafka topic ${topic} in S3 every ${batchInterval.toHumanString()}${shards > 1 ? ` with ${shards} shards` : ''}`,
      role: this.role,
      timeout: o.timeout,
      memorySize: o.memorySize,
      reservedConcurrentExecutions: reservedConcurrencyFor(shards),
      ...(shards === 1
        ? {
            retryAttempts: 0,
            maxEventAge: maxEventAgeFor(batchInterval),
            onFailure: new QueueDestination(puller.failureQueue),
          }
        : {}),
      logGroup: this.logGroup,
      environment: pipelineEnvironment(puller, options, o, this.icebergTable),
      ...(puller.vpc
        ? { vpc: puller.vpc, vpcSubnets: puller.vpcSubnets, securityGroups: [...puller.securityGroups] }
        : {}),
    };
    // The prebuilt bundle needs no bundling at synth; one asset serves every pipeline.
    this.lambdaFunction = options.handlerEntry
      ? new nodejs.NodejsFunction(this, 'Function', {
          ...functionProps,
          entry: resolve(options.handlerEntry),
          handler: 'handler',
          bundling: userHandlerBundling(),
        })
      : new lambda.Function(this, 'Function', {
          ...functionProps,
          code: lambda.Code.fromAsset(prebuiltHandlerFolder()),
          handler: 'index.handler',
        });

    // 4. Exactly what a run does.
    grantRun(this);
    this.icebergTable?.grantCommit(this.role);

    // 5. The schedule, with the same no-retry policy as the function (see 3). With shards it starts the
    // state machine, whose failed executions the errors alarm watches (6).
    if (shards > 1) {
      this.shardStateMachine = new ShardStateMachine(this, 'ShardStateMachine', {
        lambdaFunction: this.lambdaFunction,
        shards,
        runTimeout: o.timeout,
        metricPeriod: batchInterval,
        logRetention: puller.logRetention,
        comment: `kafka-batch-puller: topic ${topic}, ${shards} shards`,
      });
    }
    this.schedule = createPipelineSchedule(this, options.enabled ?? true);

    // 6. Alarms.
    ({ errorsAlarm: this.errorsAlarm, freshnessAlarm: this.freshnessAlarm } = createPipelineAlarms(
      this,
      o.freshnessAlarmIntervals,
    ));

    // 7. The table Athena queries.
    if (o.glueTable) {
      this.glueTable = new PipelineGlueTable(this, 'GlueTable', {
        bucket: puller.bucket,
        dataFolder: objectFolders(outputPrefix, topic)[0],
        databaseName: o.glueDatabaseName,
        tableName: o.glueTableName,
        format: o.format,
        keyFormat: o.keyFormat,
        valueFormat: o.valueFormat,
        columns: o.columns,
        ...(puller.bucketEncryptionKey ? { bucketEncryptionKey: puller.bucketEncryptionKey } : {}),
      });
    }

    // 8. What cdk-nag reports and why it stays.
    suppressRunFindings(this);
  }

  /**
   * A metric the handler emits for this pipeline's topic (one data point per run), with the dimensions
   * `service` and `Topic`.
   * @default - average over one batch interval; `props` overrides
   */
  metric(metricName: PullerMetric, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return pipelineMetric(this, metricName, props);
  }

  /**
   * Seconds the newest closed window's end trails the clock, as reported by each run. The freshness
   * alarm watches it; a run that reports nothing leaves the period empty.
   * @default - minimum over one batch interval
   */
  metricNewestWindowAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(PullerMetric.NEWEST_WINDOW_AGE_SECONDS, {
      statistic: cloudwatch.Stats.MINIMUM,
      ...props,
    });
  }

  /**
   * Records written to the batch objects (error rows apart).
   * @default - sum over one batch interval
   */
  metricRecordsWritten(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(PullerMetric.RECORDS_WRITTEN, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Records between the saved offsets and the partitions' high watermarks at the end of each run.
   * @default - maximum over one batch interval
   */
  metricConsumerLag(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(PullerMetric.CONSUMER_LAG, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Records that could not be written as rows and went to the windows' errors objects, with the reason.
   * @default - sum over one batch interval
   */
  metricErrorRecords(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(PullerMetric.ERROR_RECORDS, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Failed runs: the function's `Errors` (AWS/Lambda). The errors alarm watches it. With shards it counts
   * failed steps, including those a retry then cured; the errors alarm watches the state machine's
   * failed and timed-out executions instead (`shardStateMachine.metricUnsuccessfulExecutions()`).
   * @default - sum over one batch interval
   */
  metricErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.lambdaFunction.metricErrors({
      period: this.batchInterval,
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  /**
   * Lets `grantee` read this pipeline's batches: objects under its data and errors folders (and decrypt
   * them with the bucket's key, when it has one).
   */
  grantReadBatches(grantee: iam.IGrantable): iam.Grant {
    return grantReadBatches(this, grantee);
  }
}
