// Builds the kafkajs client for a pipeline's brokers and security mode. Secrets are fetched at run
// time (Secrets Manager for SCRAM, signed tokens for MSK IAM); none is kept in the environment.
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaSecurity, PullerConfig } from '../config.js';
import { loginFromSecret } from './login-secret.js';

/** How long a connection attempt may take, ms; an unreachable broker fails within a bounded time. */
const CONNECTION_TIMEOUT_MS = 3000;
/** kafkajs retries with exponential backoff and jitter; these bound the total to a few seconds. */
const RETRY = { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 } as const;

async function scramCredentials(secretArn: string): Promise<SASLOptions> {
  // Amazon MSK's SCRAM secrets hold {"username": ..., "password": ...}.
  const { username, password } = await loginFromSecret(secretArn);
  return { mechanism: 'scram-sha-512', username, password };
}

function mskIamSasl(region: string): SASLOptions {
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => {
      const { token } = await generateAuthToken({ region });
      return { value: token };
    },
  };
}

async function securityOptions(security: KafkaSecurity): Promise<Pick<KafkaConfig, 'ssl' | 'sasl'>> {
  switch (security.mechanism) {
    case 'plaintext':
      return {};
    case 'tls':
      return { ssl: true };
    case 'scram-sha-512':
      return { ssl: true, sasl: await scramCredentials(security.secretArn) };
    case 'msk-iam':
      return { ssl: true, sasl: mskIamSasl(security.region) };
  }
}

/** A kafkajs client for the pipeline's brokers, quiet unless something is wrong. */
export async function createKafkaClient(config: PullerConfig): Promise<Kafka> {
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    authenticationTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: 30_000,
    retry: RETRY,
    logLevel: logLevel.NOTHING,
    ...(await securityOptions(config.security)),
  });
}
