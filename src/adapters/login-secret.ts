// Reads a user name and password kept in Secrets Manager, for the logins the puller makes with them
// (Kafka's SCRAM, the schema registry's basic authentication): never from the environment.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { ConfigError } from '../errors.js';

/** A user name and its password. */
export interface Login {
  readonly username: string;
  readonly password: string;
}

/**
 * The login a secret holds: JSON `{"username": ..., "password": ...}` (the shape Amazon MSK's SCRAM
 * secrets have). Fetched through Powertools, which caches it for the function's warm invocations.
 * @throws ConfigError when the secret has another shape.
 */
export async function loginFromSecret(secretArn: string): Promise<Login> {
  const secret = await getSecret<Record<string, unknown>>(secretArn, { transform: 'json' });
  const username = secret?.username;
  const password = secret?.password;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new ConfigError([`the secret ${secretArn} must be JSON with string fields username and password`]);
  }
  return { username, password };
}
