// The schema registry settings: where keys and values in the `confluent` format find their schemas, and
// how the puller logs in; the Glue Schema Registry that `glue` keys and values may be held to. Kept apart
// from config.ts, which reads them with the rest: their variables, how each is read, what they require
// of the other settings, and the typed result.
//
// The Glue Schema Registry needs no address or login: the AWS SDK's region and credentials (the
// function's role) reach it, and a schema version id names its version in any registry.
//
// The login is never in the environment: the function reads it at run time from a Secrets Manager
// secret (as the SCRAM login), and the CLI takes a user name by flag and its password from the
// SCHEMA_REGISTRY_PASSWORD environment variable of the shell (never a flag, so never in `ps` or a
// shell's history), which the Lambda handler does not read.
import {
  glueRegistryNameProblem,
  oneRegistryProblem,
  registryUrlProblem,
  type Setting,
} from './core/setting-rules.js';
import { ValueFormat } from './core/value-format.js';
import { optionalText } from './table-format-config.js';

/** The variables of the schema registry settings. */
export const RegistryVariables = {
  registryUrl: 'SCHEMA_REGISTRY_URL',
  registrySecretArn: 'SCHEMA_REGISTRY_SECRET_ARN',
  glueRegistryName: 'GLUE_SCHEMA_REGISTRY_NAME',
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

/** The Glue Schema Registry `glue` keys and values are decoded with. */
export interface GlueRegistrySettings {
  /**
   * The registry each schema version must belong to; a version of another registry's schema sends its
   * records to the errors object. Absent: a version of any registry the credentials may read.
   */
  readonly registryName?: string;
}

/** How each registry variable is read (spread into the config schema's fields). */
export const registryFields = {
  [R.registryUrl]: optionalText.transform((v) => v?.replace(/\/+$/, '')),
  [R.registrySecretArn]: optionalText,
  [R.glueRegistryName]: optionalText,
};

/** The registry variables as read, with the other settings their checks depend on. */
export interface RegistryInput {
  readonly SCHEMA_REGISTRY_URL?: string | undefined;
  readonly SCHEMA_REGISTRY_SECRET_ARN?: string | undefined;
  readonly GLUE_SCHEMA_REGISTRY_NAME?: string | undefined;
  readonly KEY_FORMAT: ValueFormat;
  readonly VALUE_FORMAT: ValueFormat;
}

const named = (name: string, value: string): Setting<string> => ({ name, value, shown: `'${value}'` });

/** Every problem of the registry settings, each naming its variable. */
export function registryProblems(env: RegistryInput): string[] {
  const url = env[R.registryUrl];
  const keyFormat = named('KEY_FORMAT', env.KEY_FORMAT);
  const valueFormat = named('VALUE_FORMAT', env.VALUE_FORMAT);
  const glueName = env[R.glueRegistryName];
  const problems = [
    oneRegistryProblem(keyFormat, valueFormat),
    registryUrlProblem({ name: R.registryUrl, value: url, shown: `'${url}'` }, keyFormat, valueFormat),
    glueRegistryNameProblem(
      { name: R.glueRegistryName, value: glueName, shown: `'${glueName}'` },
      keyFormat,
      valueFormat,
    ),
  ];
  if (env[R.registrySecretArn] !== undefined && url === undefined)
    problems.push(`${R.registrySecretArn} needs ${R.registryUrl}`);
  return problems.filter((p): p is string => p !== undefined);
}

/** The validated registry settings, as the config holds them (none when no format decodes with one). */
export function registryOf(env: RegistryInput): {
  readonly registry?: SchemaRegistrySettings;
  readonly glueRegistry?: GlueRegistrySettings;
} {
  // An unused URL is ignored, as the Iceberg settings are without a table.
  const confluent = [env.KEY_FORMAT, env.VALUE_FORMAT].includes(ValueFormat.CONFLUENT);
  const url = confluent ? env[R.registryUrl] : undefined;
  const secretArn = env[R.registrySecretArn];
  const glueName = env[R.glueRegistryName];
  const glue = env.KEY_FORMAT === ValueFormat.GLUE || env.VALUE_FORMAT === ValueFormat.GLUE;
  return {
    ...(url === undefined
      ? {}
      : {
          registry: {
            url,
            login: secretArn === undefined ? { kind: 'none' } : { kind: 'secret', secretArn },
          },
        }),
    ...(glue ? { glueRegistry: glueName === undefined ? {} : { registryName: glueName } } : {}),
  };
}
