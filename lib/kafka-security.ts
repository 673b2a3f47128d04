// How the puller's functions authenticate to Kafka, and the MSK IAM resource ARNs one pipeline may touch.
import { Fn, Token } from 'aws-cdk-lib';

/** How the functions authenticate to the Kafka brokers; the values are the Lambda's KAFKA_SECURITY settings. */
export const KafkaSecurityMode = {
  /** No TLS, no authentication: local brokers only (LocalStack, a test bed). */
  PLAINTEXT: 'plaintext',
  /** TLS to the brokers, no client authentication. */
  TLS: 'tls',
  /** SASL/SCRAM-SHA-512 over TLS; the credentials are read at run time from a Secrets Manager secret. */
  SCRAM_SHA512: 'scram-sha-512',
  /** Amazon MSK IAM access control (SASL/OAUTHBEARER over TLS), signed with the function's role. */
  MSK_IAM: 'msk-iam',
} as const;
/** How the functions authenticate to the Kafka brokers. */
export type KafkaSecurityMode = (typeof KafkaSecurityMode)[keyof typeof KafkaSecurityMode];

/** The MSK IAM resources of one pipeline: its cluster, its topic and its consumer group. */
export interface MskIamResourceArns {
  readonly cluster: string;
  readonly topic: string;
  readonly group: string;
}

/** `arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>`, as MSK returns it. */
const CLUSTER_ARN = /^arn:(aws[a-z-]*):kafka:([a-z0-9-]+):(\d{12}):cluster\/([^/]+)\/([^/]+)$/;

/** Whether `arn` can be an MSK cluster ARN: an unresolved token, or a literal of the cluster ARN's shape. */
export function isMskClusterArn(arn: string): boolean {
  return Token.isUnresolved(arn) || CLUSTER_ARN.test(arn);
}

/**
 * The topic and group ARNs that MSK IAM access control checks, derived from the cluster ARN:
 * `...:topic/<clusterName>/<clusterUuid>/<topic>` and `...:group/<clusterName>/<clusterUuid>/<groupId>`
 * (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html#msk-iam-resources).
 * A literal ARN is parsed here; a token (a cluster made in the same app) is split by CloudFormation.
 */
export function mskIamResourceArns(clusterArn: string, topic: string, groupId: string): MskIamResourceArns {
  const literal = Token.isUnresolved(clusterArn) ? null : CLUSTER_ARN.exec(clusterArn);
  if (literal) {
    const [, partition, region, account, name, uuid] = literal;
    const base = `arn:${partition}:kafka:${region}:${account}`;
    return {
      cluster: clusterArn,
      topic: `${base}:topic/${name}/${uuid}/${topic}`,
      group: `${base}:group/${name}/${uuid}/${groupId}`,
    };
  }
  const fields = Fn.split(':', clusterArn, 6);
  const path = Fn.split('/', Fn.select(5, fields), 3);
  const base = Fn.join(':', [
    'arn',
    Fn.select(1, fields),
    'kafka',
    Fn.select(3, fields),
    Fn.select(4, fields),
  ]);
  const clusterPath = Fn.join('/', [Fn.select(1, path), Fn.select(2, path)]);
  return {
    cluster: clusterArn,
    topic: Fn.join('', [base, ':topic/', clusterPath, `/${topic}`]),
    group: Fn.join('', [base, ':group/', clusterPath, `/${groupId}`]),
  };
}
