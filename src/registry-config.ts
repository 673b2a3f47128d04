// The schema registry settings: where keys and values in the `confluent` format find their schemas, and
// how the puller logs in. Kept apart from config.ts, which reads them with the rest: their variables,
// how each is read, what they require of the other settings, and the typed result.
//
// The login is never in the environment: the function reads it at run time from a Secrets Manager
// secret (as the SCRAM login), and the CLI takes a user name by flag and its password from the
// SCHEMA_REGISTRY_PASSWORD environment variable of the shell (never a flag, so never in `ps` or a
// shell's history), which the Lambda handler does not read.
import { registryUrlProblem, type Setting } from './core/setting-rules.js';
import { ValueFormat } from './core/value-format.js';
import { optionalText } from './table-format-config.js';

/** The variables of the schema registry settings. */
export const RegistryVariables = {
  registryUrl: 'SCHEMA_REGISTRY_URL',
  registrySecretArn: 'SCHEMA_REGISTRY_SECRET_ARN',
} as const;

const R = RegistryVariables;

/** Where the CLI reads the registry password given with `--schema-registry-user`. */
export const REGISTRY_PASSWORD_VARIABLE = 'SCHEMA_REGISTRY_PASSWORD';

/** How the puller logs in to the schema registry (HTTP basic authentication). */
export type RegistryLogin =
  | { readonly kind: 'none' }
  /** A Secrets Manager secret `{"username","password"}`, read at run time. */
  | { readonly kind: 'secret'; readonly secretArn: string }
  /** A user and password given to the CLI (never to the function). */
  | { readonly kind: 'basic'; readonly username: string; readonly password: string };

/** The schema registry `confluent` keys and values are decoded with. */
export interface SchemaRegistrySettings {
  /** The registry's base URL (Confluent's API: `GET {url}/schemas/ids/{id}`). */
  readonly url: string;
  readonly login: RegistryLogin;
}

/** How each registry variable is read (spread into the config schema's fields). */
export const registryFields = {
  [R.registryUrl]: optionalText.transform((v) => v?.replace(/\/+$/, '')),
  [R.registrySecretArn]: optionalText,
};

/** The registry variables as read, with the other settings their checks depend on. */
export interface RegistryInput {
  readonly SCHEMA_REGISTRY_URL?: string | undefined;
  readonly SCHEMA_REGISTRY_SECRET_ARN?: string | undefined;
  readonly KEY_FORMAT: ValueFormat;
  readonly VALUE_FORMAT: ValueFormat;
}

const named = (name: string, value: string): Setting<string> => ({ name, value, shown: `'${value}'` });

/** Every problem of the registry settings, each naming its variable. */
export function registryProblems(env: RegistryInput): string[] {
  const url = env[R.registryUrl];
  const keyFormat = named('KEY_FORMAT', env.KEY_FORMAT);
  const valueFormat = named('VALUE_FORMAT', env.VALUE_FORMAT);
  const problems = [
    registryUrlProblem({ name: R.registryUrl, value: url, shown: `'${url}'` }, keyFormat, valueFormat),
  ];
  if (env[R.registrySecretArn] !== undefined && url === undefined)
    problems.push(`${R.registrySecretArn} needs ${R.registryUrl}`);
  return problems.filter((p): p is string => p !== undefined);
}

/** The validated registry settings, as the config holds them (none when no format decodes with one). */
export function registryOf(env: RegistryInput): { readonly registry?: SchemaRegistrySettings } {
  const url = env[R.registryUrl];
  const decodes = [env.KEY_FORMAT, env.VALUE_FORMAT].includes(ValueFormat.CONFLUENT);
  if (url === undefined || !decodes) return {};
  const secretArn = env[R.registrySecretArn];
  return {
    registry: { url, login: secretArn === undefined ? { kind: 'none' } : { kind: 'secret', secretArn } },
  };
}
