// The table format settings: whether closed windows are also committed to an Iceberg table, and the
// catalog that holds it. Kept apart from config.ts, which reads them with the rest: their variables, how
// each is read, what they require of the other settings, and the typed result.
import { z } from 'zod';
import {
  awsCatalogEndpoint,
  CatalogSigning,
  defaultIcebergTable,
  httpUrlProblem,
  icebergNameProblem,
  type Setting,
  TableFormat,
  tableFormatProblem,
  tableLocationProblem,
} from './core/setting-rules.js';

/** The variables of the table format settings. */
export const TableFormatVariables = {
  tableFormat: 'TABLE_FORMAT',
  catalogUrl: 'ICEBERG_CATALOG_URL',
  warehouse: 'ICEBERG_WAREHOUSE',
  namespace: 'ICEBERG_NAMESPACE',
  table: 'ICEBERG_TABLE',
  signing: 'ICEBERG_SIGNING_SERVICE',
  location: 'ICEBERG_TABLE_LOCATION',
} as const;

const T = TableFormatVariables;

/** The namespace a pipeline's table is created in when none is named. */
export const DEFAULT_ICEBERG_NAMESPACE = 'kafka_batch_puller';

/** Where closed windows are committed as Iceberg snapshots, or nowhere. */
export type TableTarget =
  | { readonly format: typeof TableFormat.NONE }
  | {
      readonly format: typeof TableFormat.ICEBERG;
      /** The Iceberg REST catalog's base URL, without `/v1`. */
      readonly catalogUrl: string;
      /** The warehouse asked of the catalog (S3 Tables: the table bucket's ARN; Glue: the account id). */
      readonly warehouse?: string;
      readonly namespace: string;
      readonly table: string;
      /** How catalog requests are signed (SigV4 for S3 Tables and Glue). */
      readonly signing: CatalogSigning;
      /** The region requests are signed for; set when they are signed. */
      readonly region?: string;
      /** Where a table the run creates keeps its metadata (`s3://bucket/path`); unset, the catalog's choice. */
      readonly location?: string;
    };

/** An optional text variable: trimmed, and undefined when empty. */
export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** How each table format variable is read (spread into the config schema's fields). */
export const tableFormatFields = {
  [T.tableFormat]: optionalText.pipe(
    z
      .enum(Object.values(TableFormat), { error: `${T.tableFormat} must be one of none, iceberg` })
      .default(TableFormat.NONE),
  ),
  [T.catalogUrl]: optionalText,
  [T.warehouse]: optionalText,
  [T.namespace]: optionalText,
  [T.table]: optionalText,
  [T.location]: optionalText,
  [T.signing]: optionalText.pipe(
    z
      .enum(Object.values(CatalogSigning), { error: `${T.signing} must be one of none, s3tables, glue` })
      .default(CatalogSigning.NONE),
  ),
};

/** The table format variables as read, with the other settings their checks depend on. */
export interface TableFormatInput {
  readonly TABLE_FORMAT: TableFormat;
  readonly ICEBERG_CATALOG_URL?: string | undefined;
  readonly ICEBERG_WAREHOUSE?: string | undefined;
  readonly ICEBERG_NAMESPACE?: string | undefined;
  readonly ICEBERG_TABLE?: string | undefined;
  readonly ICEBERG_SIGNING_SERVICE: CatalogSigning;
  readonly ICEBERG_TABLE_LOCATION?: string | undefined;
  readonly KAFKA_TOPIC: string;
  readonly AWS_REGION?: string | undefined;
}

/** The other settings the table format depends on, by the names their user knows them by. */
export interface TableFormatContext {
  /** The output format setting. */
  readonly format: Setting<string>;
  /** Whether the output is S3, named as the setting that makes it so. */
  readonly s3Output: Setting<boolean>;
}

const quoted = (name: string, value: string): Setting<string> => ({ name, value, shown: `'${value}'` });

/** Every problem of the table format settings, each naming its variable. */
export function tableFormatProblems(env: TableFormatInput, context: TableFormatContext): string[] {
  const tableFormat = quoted(T.tableFormat, env[T.tableFormat]);
  if (env[T.tableFormat] !== TableFormat.ICEBERG) return [];
  const problems = [
    tableFormatProblem(tableFormat, context.format, context.s3Output),
    icebergNameProblem(quoted(T.namespace, env[T.namespace] ?? DEFAULT_ICEBERG_NAMESPACE)),
    icebergNameProblem(quoted(T.table, env[T.table] ?? defaultIcebergTable(env.KAFKA_TOPIC))),
  ];
  const location = env[T.location];
  if (location !== undefined) problems.push(tableLocationProblem(quoted(T.location, location)));
  const url = env[T.catalogUrl];
  if (url !== undefined) problems.push(httpUrlProblem(quoted(T.catalogUrl, url)));
  else if (env[T.signing] === CatalogSigning.NONE)
    problems.push(`${T.catalogUrl} is required when ${T.tableFormat} is iceberg`);
  if (env[T.signing] !== CatalogSigning.NONE && !env.AWS_REGION)
    problems.push(`AWS_REGION is required when ${T.signing} is ${env[T.signing]}`);
  if (env[T.signing] !== CatalogSigning.NONE && env[T.warehouse] === undefined)
    problems.push(
      `${T.warehouse} is required when ${T.signing} is ${env[T.signing]} (S3 Tables: the table bucket's ARN; Glue: the account id)`,
    );
  return problems.filter((p): p is string => p !== undefined);
}

/** The validated table format settings as the engine takes them; call after tableFormatProblems. */
export function tableTargetOf(env: TableFormatInput): TableTarget {
  if (env[T.tableFormat] !== TableFormat.ICEBERG) return { format: TableFormat.NONE };
  const warehouse = env[T.warehouse];
  const location = env[T.location]?.replace(/\/+$/, '');
  return {
    format: TableFormat.ICEBERG,
    catalogUrl: env[T.catalogUrl] ?? awsCatalogEndpoint(env[T.signing], env.AWS_REGION ?? '') ?? '',
    ...(warehouse === undefined ? {} : { warehouse }),
    namespace: env[T.namespace] ?? DEFAULT_ICEBERG_NAMESPACE,
    table: env[T.table] ?? defaultIcebergTable(env.KAFKA_TOPIC),
    signing: env[T.signing],
    ...(env[T.signing] === CatalogSigning.NONE || !env.AWS_REGION ? {} : { region: env.AWS_REGION }),
    ...(location === undefined ? {} : { location }),
  };
}
