// One pipeline: a topic landed by its own function, run by its own schedule, watched by its own alarms.
// The bucket, state table, failure queue and Kafka connection come from the KafkaBatchPuller it belongs to.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { Compression, ConfigVariables, MAX_SHARDS } from '../src/config.js';
import { columnProblem, formatColumns } from '../src/core/column-declarations.js';
import { compressionLevelProblem } from '../src/core/compression-level.js';
import { FETCH_SIZES_MB, type FetchSizeRange } from '../src/core/fetch-sizes.js';
import { isTopicName, TOPIC_NAME_RULE } from '../src/core/kafka-names.js';
import type { DeclaredColumn } from '../src/core/parquet-schema.js';
import { sharesKeyPattern } from '../src/core/partition-share.js';
import { pipelineIdOf } from '../src/core/pipeline-state.js';
import { OutputFormat, ValueFormat } from '../src/core/value-format.js';
import { PullerMetric } from '../src/metric-names.js';
import { glueNameOf, PipelineGlueTable } from './glue-table.js';
import {
  HANDLER_NODE_OPTIONS,
  HANDLER_RUNTIME,
  prebuiltHandlerFolder,
  userHandlerBundling,
} from './handler-bundle.js';
import type { KafkaBatchPuller } from './kafka-batch-puller.js';
import { KafkaSecurityMode, mskIamResourceArns } from './kafka-security.js';
import { LambdaInvokeTarget } from './lambda-invoke-target.js';
import { addNagSuppressions, findingEndingWith } from './nag-suppressions.js';
import { QueueDestination } from './queue-destination.js';
import { ShardStateMachine } from './shard-state-machine.js';
import { StartPosition } from './start-position.js';

/** Settings of one pipeline: one topic, one consumer group, one function and schedule. */
export interface PullerPipelineOptions {
  /** The Kafka topic this pipeline lands in S3. */
  readonly topic: string;

  /**
   * The consumer group whose committed offsets mirror the pipeline's saved state. It must be used by this
   * pipeline only.
   * @default - `kafka-batch-puller.<topic>`
   */
  readonly groupId?: string;

  /**
   * Length of a window, and how often the schedule runs the function. Windows are aligned to multiples of
   * it since the epoch. A whole number of minutes (EventBridge Scheduler's rate granularity), at most 1 day.
   * @default Duration.minutes(1)
   */
  readonly batchInterval?: Duration;

  /**
   * How long one poll waits for records; an empty poll advances an idle partition's clock by this much.
   * Must be shorter than `batchInterval`.
   * @default Duration.seconds(5)
   */
  readonly pollInterval?: Duration;

  /**
   * How far behind the wall clock a partition's clock may lag; bounds how long a window waits for an idle
   * partition.
   * @default - the poll interval
   */
  readonly allowedLateness?: Duration;

  /**
   * A record stamped further than this past the wall clock goes to the window's errors object instead of
   * holding its partition back.
   * @default - the function's default, 1 hour
   */
  readonly futureTolerance?: Duration;

  /**
   * Where the pipeline starts reading when it has no saved state yet.
   * @default StartPosition.EARLIEST
   */
  readonly startPosition?: StartPosition;

  /**
   * Key prefix of the pipeline's objects in the bucket, without leading or trailing `/`. Objects land
   * under `<prefix>/topic=<topic>/...` and `<prefix>/errors/topic=<topic>/...`, so pipelines may share a
   * prefix; the function may write only there.
   * @default - no prefix: `topic=<topic>/...` at the bucket's root
   */
  readonly outputPrefix?: string;

  /**
   * Compression of the batch objects: `GZIP`, `ZSTD` or `NONE` for NDJSON; for Parquet, the codec inside the file
   * (`SNAPPY`, `GZIP`, `ZSTD` or `NONE`).
   * @default - Compression.GZIP for NDJSON, Compression.SNAPPY for Parquet
   */
  readonly compression?: Compression;

  /**
   * The level NDJSON objects are compressed at: gzip 1–9, zstd 1–19 (lower is faster, higher is smaller).
   * @default - 6 for gzip, 3 for zstd
   */
  readonly compressionLevel?: number;

  /**
   * What the data objects are: NDJSON lines or Parquet files.
   * @default OutputFormat.NDJSON
   */
  readonly format?: OutputFormat;

  /**
   * How record values are read: `STRING` (text, base64 for bytes that are not UTF-8), `JSON` (written as
   * JSON; a value that does not parse goes to the errors object) or `BINARY`.
   * @default ValueFormat.STRING
   */
  readonly valueFormat?: ValueFormat;

  /**
   * How record keys are read (as `valueFormat`).
   * @default ValueFormat.STRING
   */
  readonly keyFormat?: ValueFormat;

  /**
   * Typed Parquet columns taken from each JSON value, beside the envelope; needs `format` PARQUET and
   * `valueFormat` JSON. A value whose field does not fit its column goes to the errors object.
   * @default - none
   */
  readonly columns?: readonly DeclaredColumn[];

  /**
   * Whether to create a Glue table over the pipeline's data (partition projection on `date` and `hour`),
   * so Athena can query a window as soon as it lands.
   * @default true
   */
  readonly glueTable?: boolean;

  /**
   * The Glue database of the table, created by the stack; pipelines naming the same one share it.
   * @default 'kafka_batch_puller'
   */
  readonly glueDatabaseName?: string;

  /**
   * The Glue table's name.
   * @default - `outputPrefix` and the topic joined by `_`, lowercased, other characters turned to `_`
   */
  readonly glueTableName?: string;

  /**
   * A partition's share of a window is cut into parts of about this many uncompressed bytes; a whole
   * number of MiB from 1 to 4096.
   * @default Size.mebibytes(64)
   */
  readonly partSize?: Size;

  /**
   * The most one Kafka fetch returns per partition (`FETCH_PARTITION_MB`), from 0.01 to 64 MiB. Larger
   * fetches measured slower, not faster (see the README's measured figures).
   * @default Size.mebibytes(1)
   */
  readonly fetchPartitionSize?: Size;

  /**
   * Fetched bytes held ahead of the writer (`FETCH_QUEUE_MB`), from 1 to 1024 MiB and at least
   * `fetchPartitionSize`; fetching pauses while the queue is full.
   * @default Size.mebibytes(16)
   */
  readonly fetchQueueSize?: Size;

  /**
   * A run starts no new work when less than this is left before its timeout.
   * @default Duration.seconds(10)
   */
  readonly safetyMargin?: Duration;

  /**
   * The function's timeout; a run uses all of it when it has backlog to catch up. With `shards` above 1,
   * the run's budget: every step stops new work by the execution's start plus this.
   * @default - the batch interval, at most 15 minutes
   */
  readonly timeout?: Duration;

  /**
   * How many shards read a window's partitions in parallel, each in its own invocation of the function;
   * a whole number from 1 to 256. 1 is one invocation per run, started by the schedule. Above 1 the
   * schedule starts a Step Functions state machine (plan → shards → finalize, see `ShardStateMachine`),
   * and the function's reserved concurrency is `shards + 1`. Shard when one run cannot keep up with the
   * topic (see the README's "When to shard"); more shards than partitions leaves the extra ones idle.
   * @default 1
   */
  readonly shards?: number;

  /**
   * The function's memory, MiB (CPU grows with it).
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * The freshness alarm fires when the newest closed window's end trails the clock by more than this many
   * batch intervals, or when no run reports at all.
   * @default 3
   */
  readonly freshnessAlarmIntervals?: number;

  /**
   * Whether the schedule runs. A disabled pipeline keeps its state and resumes where it stopped.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * More environment variables for the function, such as `KAFKA_CLIENT_ID`. The variables this construct
   * sets from props cannot be given here.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * Path to your own handler file, bundled for the function by NodejsFunction with your app's esbuild
   * (a devDependency of the app; no Docker). The file wraps the puller's handler with hooks:
   * `export const handler = createHandler({ parseRecord, onBatchComplete })`, importing `createHandler`
   * from `kafka-batch-puller/handler`. NodejsFunction finds the app's lock file from the working directory.
   * @default - the handler bundle built into the package, without hooks (no bundling at synth)
   */
  readonly handlerEntry?: string;
}

/** Properties of `PullerPipeline`: the pipeline's settings and the puller whose resources it uses. */
export interface PullerPipelineProps extends PullerPipelineOptions {
  /** The puller whose bucket, state table, failure queue and Kafka connection the pipeline uses. */
  readonly puller: KafkaBatchPuller;
}

const PREFIX = /^[A-Za-z0-9!_.'()=-]+(\/[A-Za-z0-9!_.'()=-]+)*$/;
const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);
/** The shortest maximum event age Lambda and Scheduler accept, and the longest Lambda accepts. */
const EVENT_AGE_MIN = Duration.minutes(1);
const EVENT_AGE_MAX = Duration.hours(6);

/** Variables the construct sets itself; `environment` may not override them (KAFKA_CLIENT_ID it may set). */
const MANAGED_VARIABLES: ReadonlySet<string> = new Set<string>([
  ...Object.values(ConfigVariables).filter((name) => name !== ConfigVariables.clientId),
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOG_LEVEL',
]);

/**
 * The function's reserved concurrency: one run at a time with one shard (today's shape); with N shards,
 * one execution's N shards plus the plan of the next execution, which may overlap them.
 */
export function reservedConcurrencyFor(shards: number): number {
  return shards === 1 ? 1 : shards + 1;
}

const ms = (duration: Duration): number => duration.toMilliseconds();
const seconds = (duration: Duration): string => String(duration.toMilliseconds() / 1000);
const minDuration = (a: Duration, b: Duration): Duration => (ms(a) <= ms(b) ? a : b);
const maxDuration = (a: Duration, b: Duration): Duration => (ms(a) >= ms(b) ? a : b);

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
  /** The Glue table over the pipeline's data, unless `glueTable` is false. */
  readonly glueTable?: PipelineGlueTable;

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
    );
    if (problems.length > 0) {
      throw new Error(`Invalid props for pipeline ${this.node.path}:\n  - ${problems.join('\n  - ')}`);
    }
    const { topic, groupId, batchInterval, outputPrefix, shards } = o;
    this.shards = shards;
    this.topic = topic;
    this.groupId = groupId;
    this.outputPrefix = outputPrefix;
    this.batchInterval = batchInterval;

    // 2. Execution role and log group. The role is ours (not Lambda's default with its managed policies)
    // so it holds only the statements below.
    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `kafka-batch-puller function for topic ${topic}`,
    });
    this.role = role;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: puller.logRetention });

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
    const eventAge = maxDuration(EVENT_AGE_MIN, minDuration(batchInterval, EVENT_AGE_MAX));
    const functionProps = {
      runtime: HANDLER_RUNTIME,
      architecture: puller.architecture,
      description: `Lands Kafka topic ${topic} in S3 every ${batchInterval.toHumanString()}${shards > 1 ? ` with ${shards} shards` : ''}`,
      role,
      timeout: o.timeout,
      memorySize: o.memorySize,
      reservedConcurrentExecutions: reservedConcurrencyFor(shards),
      ...(shards === 1
        ? { retryAttempts: 0, maxEventAge: eventAge, onFailure: new QueueDestination(puller.failureQueue) }
        : {}),
      logGroup: this.logGroup,
      environment: this.environmentOf(options, o),
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
    this.grantRun(role);

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
    const stateMachine = this.shardStateMachine?.stateMachine;
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Stack.of(this).account,
            'aws:SourceArn': Stack.of(this).formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
      description: stateMachine
        ? `EventBridge Scheduler: starts the kafka-batch-puller state machine for topic ${topic}`
        : `EventBridge Scheduler: invokes the kafka-batch-puller function for topic ${topic}`,
    });
    const targetProps = {
      role: schedulerRole,
      retryAttempts: 0,
      maxEventAge: eventAge,
      deadLetterQueue: puller.failureQueue,
    };
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.rate(batchInterval),
      description: `kafka-batch-puller: topic ${topic} every ${batchInterval.toHumanString()}`,
      enabled: options.enabled ?? true,
      target: stateMachine
        ? new schedulerTargets.StepFunctionsStartExecution(stateMachine, {
            ...targetProps,
            input: scheduler.ScheduleTargetInput.fromObject({}),
          })
        : new LambdaInvokeTarget(this.lambdaFunction, targetProps),
    });

    // 6. Alarms. Periods are one interval; the freshness alarm needs two periods in a row, since a run's
    // report can slip into the next period and leave one empty (CloudWatch looks back at most a day).
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: this.shardStateMachine
        ? `kafka-batch-puller: a run (state machine execution) for topic ${topic} failed or timed out; the next run retries its work. See the execution's log, the function's logs and the failure queue.`
        : `kafka-batch-puller: a run for topic ${topic} failed; the next run retries its work. See the function's logs and the failure queue.`,
      // With shards, a step the state machine retried successfully is not a failed run.
      metric: this.shardStateMachine?.metricUnsuccessfulExecutions() ?? this.metricErrors(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const freshnessPeriods = batchInterval.toSeconds() * 2 <= Duration.days(1).toSeconds() ? 2 : 1;
    this.freshnessAlarm = new cloudwatch.Alarm(this, 'FreshnessAlarm', {
      alarmDescription: `kafka-batch-puller: topic ${topic} has no window closed in the last ${o.freshnessAlarmIntervals} intervals (${batchInterval.toHumanString()} each), or its runs stopped reporting.`,
      metric: this.metricNewestWindowAge(),
      threshold: o.freshnessAlarmIntervals * batchInterval.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: freshnessPeriods,
      datapointsToAlarm: freshnessPeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    if (puller.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(puller.alarmTopic);
      for (const alarm of [this.errorsAlarm, this.freshnessAlarm]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    // 7. The table Athena queries.
    if (o.glueTable) {
      this.glueTable = new PipelineGlueTable(this, 'GlueTable', {
        bucket: puller.bucket,
        dataFolder: this.objectFolders()[0],
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
    addNagSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "PutObject, AbortMultipartUpload and GetObject on this topic's key folders only (<prefix>/topic=<topic>/* and <prefix>/errors/topic=<topic>/*): object keys carry the window and part, so they cannot be listed in advance.",
          appliesTo: this.objectFolders().map((folder) => findingEndingWith('Resource::', `${folder}*`)),
        },
        ...(puller.vpc
          ? [
              {
                id: 'AwsSolutions-IAM5',
                reason:
                  'Lambda manages the VPC network interfaces of a function in a VPC; these EC2 actions do not support resource-level permissions (the same statement as AWSLambdaVPCAccessExecutionRole).',
                appliesTo: ['Resource::*'],
              },
            ]
          : []),
      ],
      true,
    );
  }

  /**
   * A metric the handler emits for this pipeline's topic (one data point per run), with the dimensions
   * `service` and `Topic`.
   * @default - average over one batch interval; `props` overrides
   */
  metric(metricName: PullerMetric, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.puller.metricsNamespace,
      metricName,
      // Powertools adds the `service` dimension to every metric; the handler adds `Topic`.
      dimensionsMap: { service: this.puller.serviceName, Topic: this.topic },
      period: this.batchInterval,
      statistic: cloudwatch.Stats.AVERAGE,
      ...props,
    });
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
    const [data, errors] = this.objectFolders().map((folder) =>
      this.puller.bucket.grantRead(grantee, `${folder}*`),
    ) as [iam.Grant, iam.Grant];
    const key = this.puller.bucketEncryptionKey;
    // grantRead covers the key of a bucket that carries it; an imported bucket's key is granted here.
    const decrypt = key && !this.puller.bucket.encryptionKey ? [key.grantDecrypt(grantee)] : [];
    return decrypt.reduce((grant, next) => grant.combine(next), data.combine(errors));
  }

  /** The key folders the function writes to, each ending in `/`. */
  private objectFolders(): [string, string] {
    const base = this.outputPrefix === '' ? '' : `${this.outputPrefix}/`;
    return [`${base}topic=${this.topic}/`, `${base}errors/topic=${this.topic}/`];
  }

  private environmentOf(options: PullerPipelineOptions, resolved: ResolvedOptions): Record<string, string> {
    const V = ConfigVariables;
    const puller = this.puller;
    const env: Record<string, string> = {
      ...options.environment,
      [V.brokers]: puller.brokers.join(','),
      [V.topic]: resolved.topic,
      [V.groupId]: resolved.groupId,
      [V.batchIntervalSeconds]: seconds(resolved.batchInterval),
      [V.pollIntervalSeconds]: seconds(resolved.pollInterval),
      [V.startPosition]: (options.startPosition ?? StartPosition.EARLIEST).value,
      [V.outputBucket]: puller.bucket.bucketName,
      [V.outputPrefix]: resolved.outputPrefix,
      [V.stateTable]: puller.stateTable.tableName,
      [V.compression]: resolved.compression,
      [V.format]: resolved.format,
      [V.keyFormat]: resolved.keyFormat,
      [V.valueFormat]: resolved.valueFormat,
      ...(resolved.columns.length > 0 ? { [V.columns]: formatColumns(resolved.columns) } : {}),
      [V.partSizeMb]: String(resolved.partSize.toMebibytes()),
      [V.security]: puller.kafkaSecurity,
      [V.safetyMarginSeconds]: seconds(resolved.safetyMargin),
      POWERTOOLS_SERVICE_NAME: puller.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: puller.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: puller.logLevel,
      NODE_OPTIONS: HANDLER_NODE_OPTIONS,
    };
    // Set only with shards: one shard is the handler's default, and today's functions keep their settings.
    if (resolved.shards > 1) env[V.shards] = String(resolved.shards);
    if (options.compressionLevel !== undefined) env[V.compressionLevel] = String(options.compressionLevel);
    // Set only when given, as the level: the handler's defaults are the measured ones.
    if (options.fetchPartitionSize) env[V.fetchPartitionMb] = String(mebibytesOf(options.fetchPartitionSize));
    if (options.fetchQueueSize) env[V.fetchQueueMb] = String(mebibytesOf(options.fetchQueueSize));
    if (options.allowedLateness) env[V.allowedLatenessSeconds] = seconds(options.allowedLateness);
    if (options.futureTolerance) env[V.futureToleranceSeconds] = seconds(options.futureTolerance);
    // The secret's ARN only: the function reads the credentials at run time.
    if (puller.saslSecret) env[V.saslSecretArn] = puller.saslSecret.secretArn;
    return env;
  }

  /** Grants what one run needs, and nothing more (see the README's permission table). */
  private grantRun(role: iam.Role): void {
    const puller = this.puller;
    const statement = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    const region = Stack.of(this).region;
    const viaService = (service: string) => ({
      StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` },
    });

    this.logGroup.grantWrite(role);

    // Batch objects: written (multipart parts use PutObject's permission), and read back only to check a
    // write whose answer was lost (HeadObject and GetObject both need s3:GetObject). Nothing is deleted.
    const [dataFolder] = this.objectFolders();
    const objects = this.objectFolders().map((folder) => puller.bucket.arnForObjects(`${folder}*`));
    statement(['s3:PutObject', 's3:AbortMultipartUpload'], objects);
    statement(['s3:GetObject'], objects);
    // A new pipeline lists its data folder to refuse output a lost state item left behind. The prefix
    // condition keeps every other key of the bucket unlisted. (Without an unconditional ListBucket, S3 may
    // answer a HEAD of a missing key 403 instead of 404; the write check takes any failure as "not there".)
    statement(['s3:ListBucket'], [puller.bucket.bucketArn], {
      StringLike: { 's3:prefix': [`${dataFolder}*`] },
    });
    if (puller.bucketEncryptionKey) {
      // SSE-KMS: a data key per object and part, and Decrypt to complete a multipart upload or read back.
      statement(
        ['kms:GenerateDataKey', 'kms:Decrypt'],
        [puller.bucketEncryptionKey.keyArn],
        viaService('s3'),
      );
    }

    // State: the pipeline's own items only, read and replaced with conditional puts, and a pending
    // window's share items read in batches. The table is shared by every pipeline of the puller, so the
    // partition keys are held to this pipeline's: its state item (`<groupId>|<topic>`) and its share items
    // (`<groupId>|<topic>#<pending id>#<partition>`); the Null test refuses a request that names no key.
    const pipelineId = pipelineIdOf(this.groupId, this.topic);
    statement(
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem'],
      [puller.stateTable.tableArn],
      {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [pipelineId, sharesKeyPattern(pipelineId)] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    );
    if (puller.tableEncryptionKey) {
      statement(
        ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        [puller.tableEncryptionKey.keyArn],
        viaService('dynamodb'),
      );
    }

    if (puller.kafkaSecurity === KafkaSecurityMode.SCRAM_SHA512 && puller.saslSecret) {
      const secret = puller.saslSecret;
      // A secret imported by name has a partial ARN; its full ARN ends in '-' and six random characters.
      statement(['secretsmanager:GetSecretValue'], [secret.secretFullArn ?? `${secret.secretArn}-??????`]);
      if (puller.saslSecretEncryptionKey) {
        statement(['kms:Decrypt'], [puller.saslSecretEncryptionKey.keyArn], viaService('secretsmanager'));
      }
    }

    if (puller.kafkaSecurity === KafkaSecurityMode.MSK_IAM && puller.mskClusterArn) {
      const arns = mskIamResourceArns(puller.mskClusterArn, this.topic, this.groupId);
      statement(['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'], [arns.cluster]);
      statement(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], [arns.topic]);
      statement(['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], [arns.group]);
    }

    if (puller.vpc) {
      statement(
        [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        ['*'],
      );
    }
  }
}

/** The options with every default applied. */
type ResolvedOptions = Required<
  Pick<
    PullerPipelineOptions,
    | 'topic'
    | 'groupId'
    | 'batchInterval'
    | 'pollInterval'
    | 'safetyMargin'
    | 'timeout'
    | 'memorySize'
    | 'partSize'
    | 'compression'
    | 'freshnessAlarmIntervals'
    | 'outputPrefix'
    | 'format'
    | 'keyFormat'
    | 'valueFormat'
    | 'columns'
    | 'glueTable'
    | 'glueDatabaseName'
    | 'glueTableName'
    | 'shards'
  >
>;

function resolveOptions(options: PullerPipelineOptions): ResolvedOptions {
  const batchInterval = options.batchInterval ?? Duration.minutes(1);
  return {
    topic: options.topic,
    groupId: options.groupId ?? `kafka-batch-puller.${options.topic}`,
    batchInterval,
    pollInterval: options.pollInterval ?? Duration.seconds(5),
    safetyMargin: options.safetyMargin ?? Duration.seconds(10),
    timeout: options.timeout ?? minDuration(batchInterval, LAMBDA_MAX_TIMEOUT),
    memorySize: options.memorySize ?? 1024,
    partSize: options.partSize ?? Size.mebibytes(64),
    compression:
      options.compression ??
      (options.format === OutputFormat.PARQUET ? Compression.SNAPPY : Compression.GZIP),
    format: options.format ?? OutputFormat.NDJSON,
    keyFormat: options.keyFormat ?? ValueFormat.STRING,
    valueFormat: options.valueFormat ?? ValueFormat.STRING,
    columns: options.columns ?? [],
    glueTable: options.glueTable ?? true,
    glueDatabaseName: options.glueDatabaseName ?? 'kafka_batch_puller',
    glueTableName:
      options.glueTableName ??
      glueNameOf(options.outputPrefix ? `${options.outputPrefix}_${options.topic}` : options.topic),
    freshnessAlarmIntervals: options.freshnessAlarmIntervals ?? 3,
    outputPrefix: options.outputPrefix ?? '',
    shards: options.shards ?? 1,
  };
}

/** Every problem with a pipeline's options, each naming its prop; empty when they are valid. */
function pipelineProblems(
  o: ResolvedOptions,
  options: PullerPipelineOptions,
  others: readonly PullerPipeline[],
): string[] {
  const problems: string[] = [];
  const { environment, handlerEntry } = options;
  const interval = ms(o.batchInterval);
  if (Token.isUnresolved(o.topic) || !isTopicName(o.topic)) {
    problems.push(`topic must be a Kafka topic name (${TOPIC_NAME_RULE}), got '${o.topic}'`);
  }
  if (Token.isUnresolved(o.groupId) || o.groupId.trim() === '' || /[*?]/.test(o.groupId)) {
    problems.push(
      `groupId must be a non-empty literal without '*' or '?' (IAM wildcards), got '${o.groupId}'`,
    );
  }
  if (interval % 60_000 !== 0 || interval < 60_000 || interval > ms(Duration.days(1))) {
    problems.push(
      `batchInterval must be a whole number of minutes from 1 minute to 1 day (EventBridge Scheduler runs at most once a minute), got ${o.batchInterval.toHumanString()}`,
    );
  }
  if (ms(o.pollInterval) <= 0 || ms(o.pollInterval) >= interval) {
    problems.push(
      `pollInterval must be shorter than batchInterval, got ${o.pollInterval.toHumanString()} and ${o.batchInterval.toHumanString()}`,
    );
  }
  const timeout = ms(o.timeout);
  if (timeout % 1000 !== 0 || timeout < 1000 || timeout > ms(LAMBDA_MAX_TIMEOUT)) {
    problems.push(
      `timeout must be a whole number of seconds up to 15 minutes, got ${o.timeout.toHumanString()}`,
    );
  }
  if (ms(o.safetyMargin) >= timeout) {
    problems.push(
      `safetyMargin must be shorter than timeout, got ${o.safetyMargin.toHumanString()} and ${o.timeout.toHumanString()}`,
    );
  }
  if (!Number.isInteger(o.shards) || o.shards < 1 || o.shards > MAX_SHARDS) {
    problems.push(`shards must be a whole number from 1 to ${MAX_SHARDS}, got ${o.shards}`);
  }
  if (!Number.isInteger(o.memorySize) || o.memorySize < 128 || o.memorySize > 10_240) {
    problems.push(`memorySize must be a whole number of MiB from 128 to 10240, got ${o.memorySize}`);
  }
  const mib = o.partSize.toBytes() / (1024 * 1024);
  if (!Number.isInteger(mib) || mib < 1 || mib > 4096) {
    problems.push(`partSize must be a whole number of MiB from 1 to 4096, got ${o.partSize.toBytes()} bytes`);
  }
  if (!Object.values(Compression).includes(o.compression)) {
    problems.push(
      `compression must be one of ${Object.values(Compression).join(', ')}, got '${o.compression}'`,
    );
  }
  problems.push(...formatProblems(o));
  const level = options.compressionLevel;
  const levelProblem =
    level === undefined
      ? undefined
      : compressionLevelProblem('compressionLevel', level, o.compression, o.format);
  if (levelProblem) problems.push(levelProblem);
  problems.push(...fetchSizeProblems(options));
  if (!Number.isInteger(o.freshnessAlarmIntervals) || o.freshnessAlarmIntervals < 1) {
    problems.push(
      `freshnessAlarmIntervals must be a whole number of 1 or more, got ${o.freshnessAlarmIntervals}`,
    );
  }
  if (o.outputPrefix !== '' && !PREFIX.test(o.outputPrefix)) {
    problems.push(
      `outputPrefix must be empty or '/'-separated segments of letters, digits and !_.'()=- (no leading or trailing '/'), got '${o.outputPrefix}'`,
    );
  }
  if (handlerEntry !== undefined && !(existsSync(handlerEntry) && statSync(handlerEntry).isFile())) {
    problems.push(`handlerEntry must be the path of an existing handler file, got '${handlerEntry}'`);
  }
  for (const name of Object.keys(environment ?? {})) {
    if (MANAGED_VARIABLES.has(name)) {
      problems.push(`environment must not set ${name}; the construct sets it from its props`);
    }
  }
  for (const other of others) {
    if (other.groupId === o.groupId) {
      problems.push(
        `groupId '${o.groupId}' is already used by pipeline '${other.node.id}'; each pipeline needs its own consumer group`,
      );
    }
    const otherTable = other.glueTable;
    if (
      o.glueTable &&
      otherTable?.databaseName === o.glueDatabaseName &&
      otherTable.tableName === o.glueTableName
    ) {
      problems.push(
        `glueTableName '${o.glueTableName}' is already used in database '${o.glueDatabaseName}' by pipeline '${other.node.id}'; give this pipeline another glueTableName`,
      );
    }
    if (other.topic === o.topic && other.outputPrefix === o.outputPrefix) {
      problems.push(
        `topic '${o.topic}' already lands under outputPrefix '${o.outputPrefix}' (pipeline '${other.node.id}'); give this pipeline another outputPrefix`,
      );
    }
  }
  return problems;
}

const GLUE_NAME = /^[a-z][a-z0-9_]{0,254}$/;

/** Problems with the format, value and key formats, columns and Glue names, each naming its prop. */
function formatProblems(o: ResolvedOptions): string[] {
  const problems: string[] = [];
  const formats: readonly string[] = Object.values(OutputFormat);
  const valueFormats: readonly string[] = Object.values(ValueFormat);
  if (!formats.includes(o.format))
    problems.push(`format must be one of ${formats.join(', ')}, got '${o.format}'`);
  for (const [prop, value] of [
    ['valueFormat', o.valueFormat],
    ['keyFormat', o.keyFormat],
  ] as const) {
    if (!valueFormats.includes(value)) {
      problems.push(`${prop} must be one of ${valueFormats.join(', ')}, got '${value}'`);
    }
  }
  const ndjsonCodecs: readonly string[] = [Compression.GZIP, Compression.ZSTD, Compression.NONE];
  if (o.format === OutputFormat.NDJSON && !ndjsonCodecs.includes(o.compression)) {
    problems.push(`compression must be gzip, zstd or none with format ndjson, got '${o.compression}'`);
  }
  if (o.columns.length > 0 && (o.format !== OutputFormat.PARQUET || o.valueFormat !== ValueFormat.JSON)) {
    problems.push('columns need format OutputFormat.PARQUET and valueFormat ValueFormat.JSON');
  }
  o.columns.forEach((column, i) => {
    const problem = columnProblem(column, o.columns.slice(0, i));
    if (problem) problems.push(`columns: ${problem}`);
  });
  if (o.glueTable) {
    for (const [prop, name] of [
      ['glueDatabaseName', o.glueDatabaseName],
      ['glueTableName', o.glueTableName],
    ] as const) {
      if (Token.isUnresolved(name) || !GLUE_NAME.test(name)) {
        problems.push(
          `${prop} must be lowercase letters, digits and '_', starting with a letter, got '${name}'`,
        );
      }
    }
  }
  return problems;
}

/** A size in MiB to four decimals (fetch sizes may be under 1 MiB). */
function mebibytesOf(size: Size): number {
  return Number((size.toBytes() / 2 ** 20).toFixed(4));
}

/** What is wrong with the fetch sizes, each naming its prop; the bounds are the handler's. */
function fetchSizeProblems(options: PullerPipelineOptions): string[] {
  const problems: string[] = [];
  const outOfRange = (prop: string, mib: number | undefined, range: FetchSizeRange) => {
    if (mib !== undefined && !(mib >= range.min && mib <= range.max)) {
      problems.push(`${prop} must be from ${range.min} to ${range.max} MiB, got ${mib} MiB`);
    }
  };
  const partition = options.fetchPartitionSize && mebibytesOf(options.fetchPartitionSize);
  const queue = options.fetchQueueSize && mebibytesOf(options.fetchQueueSize);
  outOfRange('fetchPartitionSize', partition, FETCH_SIZES_MB.partition);
  outOfRange('fetchQueueSize', queue, FETCH_SIZES_MB.queue);
  const oneFetch = partition ?? FETCH_SIZES_MB.partition.default;
  if (queue !== undefined && queue < oneFetch) {
    problems.push(
      `fetchQueueSize (${queue} MiB) must be at least fetchPartitionSize (${oneFetch} MiB): the queue holds whole fetches`,
    );
  }
  return problems;
}
