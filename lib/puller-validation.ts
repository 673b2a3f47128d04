// Every problem with a puller's props, found at once, each naming its prop.
import { Duration, Token } from 'aws-cdk-lib';
import { isBrokerAddress, splitBrokerList } from '../src/core/kafka-names.js';
import * as rules from '../src/core/setting-rules.js';
import { isMskClusterArn, KafkaSecurityMode } from './kafka-security.js';
import { type KafkaBatchPullerProps, PullerLogLevel } from './puller-props.js';

/** Every problem with the puller's props, each naming its prop; empty when they are valid. */
export function pullerProblems(props: KafkaBatchPullerProps): string[] {
  const problems: string[] = [];
  const mode = props.kafkaSecurity;
  const modes = Object.values(KafkaSecurityMode);
  const literalBrokers = props.brokers
    .filter((broker) => !Token.isUnresolved(broker))
    .flatMap(splitBrokerList);
  if (props.brokers.length === 0) {
    problems.push('brokers must list at least one host:port');
  }
  const bad = literalBrokers.filter((broker) => !isBrokerAddress(broker));
  if (bad.length > 0) {
    problems.push(`brokers must each be host:port, got ${bad.map((b) => `'${b}'`).join(', ')}`);
  }
  if (!modes.includes(mode)) {
    problems.push(`kafkaSecurity must be one of ${modes.join(', ')}, got '${mode}'`);
  }
  if (mode === KafkaSecurityMode.SCRAM_SHA512 && !props.saslSecret) {
    problems.push(`saslSecret is required when kafkaSecurity is '${KafkaSecurityMode.SCRAM_SHA512}'`);
  }
  if (mode !== KafkaSecurityMode.SCRAM_SHA512 && (props.saslSecret || props.saslSecretEncryptionKey)) {
    problems.push(
      `saslSecret and saslSecretEncryptionKey are used only when kafkaSecurity is '${KafkaSecurityMode.SCRAM_SHA512}'`,
    );
  }
  if (props.schemaRegistryUrl !== undefined) {
    const url = props.schemaRegistryUrl;
    const problem = Token.isUnresolved(url)
      ? undefined
      : rules.httpUrlProblem({ name: 'schemaRegistryUrl', value: url, shown: `'${url}'` });
    if (problem) problems.push(problem);
  } else if (props.schemaRegistrySecret || props.schemaRegistrySecretEncryptionKey) {
    problems.push('schemaRegistrySecret and schemaRegistrySecretEncryptionKey need schemaRegistryUrl');
  }
  const glueName = props.glueSchemaRegistryName;
  if (glueName !== undefined && !Token.isUnresolved(glueName)) {
    const problem = rules.glueRegistryNameRule({
      name: 'glueSchemaRegistryName',
      value: glueName,
      shown: `'${glueName}'`,
    });
    if (problem) problems.push(problem);
  }
  if (mode === KafkaSecurityMode.MSK_IAM) {
    if (!props.mskClusterArn) {
      problems.push(`mskClusterArn is required when kafkaSecurity is '${KafkaSecurityMode.MSK_IAM}'`);
    } else if (!isMskClusterArn(props.mskClusterArn)) {
      problems.push(
        `mskClusterArn must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>), got '${props.mskClusterArn}'`,
      );
    }
  } else if (props.mskClusterArn) {
    problems.push(`mskClusterArn is used only when kafkaSecurity is '${KafkaSecurityMode.MSK_IAM}'`);
  }
  if (!props.vpc) {
    for (const name of ['vpcSubnets', 'securityGroups', 'createVpcEndpoints'] as const) {
      if (props[name] !== undefined) problems.push(`${name} needs vpc`);
    }
  }
  if (props.bucket) {
    for (const name of [
      'serverAccessLogsBucket',
      'serverAccessLogsPrefix',
      'abortIncompleteMultipartUploadAfter',
    ] as const) {
      if (props[name] !== undefined) {
        problems.push(
          `${name} applies only to a bucket this construct creates; set it on the bucket you pass in`,
        );
      }
    }
  }
  if (props.serverAccessLogsPrefix !== undefined && !props.serverAccessLogsBucket && !props.bucket) {
    problems.push('serverAccessLogsPrefix needs serverAccessLogsBucket');
  }
  const abortAfter = props.abortIncompleteMultipartUploadAfter;
  if (
    abortAfter &&
    (abortAfter.toMilliseconds() % Duration.days(1).toMilliseconds() !== 0 ||
      abortAfter.toMilliseconds() === 0)
  ) {
    problems.push(
      `abortIncompleteMultipartUploadAfter must be a whole number of days, 1 or more, got ${abortAfter.toHumanString()}`,
    );
  }
  if (props.stateTable && props.dataRemovalPolicy !== undefined && props.bucket) {
    problems.push('dataRemovalPolicy applies only to a bucket or table this construct creates');
  }
  if (props.metricsNamespace !== undefined && !/^[^:]{1,255}$/.test(props.metricsNamespace)) {
    problems.push(
      `metricsNamespace must be 1 to 255 characters without ':', got '${props.metricsNamespace}'`,
    );
  }
  if (props.serviceName !== undefined && props.serviceName.trim() === '') {
    problems.push('serviceName must not be empty');
  }
  if (props.logLevel !== undefined && !Object.values(PullerLogLevel).includes(props.logLevel)) {
    problems.push(
      `logLevel must be one of ${Object.values(PullerLogLevel).join(', ')}, got '${props.logLevel}'`,
    );
  }
  return problems;
}
