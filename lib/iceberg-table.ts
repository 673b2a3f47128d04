// A pipeline's Apache Iceberg table in the AWS Glue Data Catalog: every closed window is committed to it
// as one append snapshot through Glue's Iceberg REST endpoint, so every Iceberg reader (Athena, Spark,
// Trino, DuckDB) sees a window whole or not at all.
//
// Glue rather than an S3 Tables table bucket: an S3 table keeps its files in the table bucket's own
// storage, while this table's data files are the window's Parquet parts where they already are, in the
// pipeline's bucket, so nothing is written twice. The stack creates the database; the function creates
// the table on its first window with rows (with the pipeline's columns and the field ids the engine
// keeps), and keeps its metadata in `_iceberg/` inside the pipeline's data folder, which the function
// already writes and its readers already read.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ICEBERG_METADATA_FOLDER } from '../src/core/key-layout.js';
import { CatalogSigning, TableFormat } from '../src/core/setting-rules.js';
import { TableFormatVariables } from '../src/table-format-config.js';
import { databaseFor, glueArn } from './glue-table.js';

/** Properties of `PipelineIcebergTable`. */
export interface PipelineIcebergTableProps {
  /** The bucket the pipeline lands in. */
  readonly bucket: s3.IBucket;
  /** The key folder of the pipeline's data objects, ending in `/` (`<prefix>/topic=<topic>/`). */
  readonly dataFolder: string;
  /** The Glue database (the table's Iceberg namespace): lowercase letters, digits and `_`. */
  readonly databaseName: string;
  /** The table's name: lowercase letters, digits and `_`. */
  readonly tableName: string;
}

/**
 * An Iceberg table in the Glue Data Catalog that a pipeline's function creates and appends each closed
 * window to; this construct makes its database, tells the function where the table is, and grants it
 * exactly the catalog calls a commit makes.
 */
export class PipelineIcebergTable extends Construct {
  /** The Glue database, which is the table's Iceberg namespace. */
  readonly databaseName: string;
  /** The table's name. */
  readonly tableName: string;
  /** Where the table keeps its metadata (`s3://<bucket>/<data folder>_iceberg`). */
  readonly tableLocation: string;
  /** The Glue ARNs a commit is authorized on: the catalog, the database and the table. */
  readonly arns: { readonly catalog: string; readonly database: string; readonly table: string };

  constructor(
    scope: Construct,
    id: string,
    private readonly props: PipelineIcebergTableProps,
  ) {
    super(scope, id);
    const stack = Stack.of(this);
    this.databaseName = props.databaseName;
    this.tableName = props.tableName;
    this.tableLocation = `s3://${props.bucket.bucketName}/${props.dataFolder}${ICEBERG_METADATA_FOLDER}`;
    this.arns = {
      catalog: glueArn(stack, 'catalog'),
      database: glueArn(stack, 'database', props.databaseName),
      table: glueArn(stack, 'table', `${props.databaseName}/${props.tableName}`),
    };
    const database = databaseFor(stack, props.databaseName);
    this.node.addDependency(database);
  }

  /** The variables that point the function's table commits at this table. */
  environment(): Record<string, string> {
    const T = TableFormatVariables;
    return {
      [T.tableFormat]: TableFormat.ICEBERG,
      [T.signing]: CatalogSigning.GLUE,
      // Glue's warehouse is the account's catalog; the endpoint follows from the signing service and region.
      [T.warehouse]: Stack.of(this).account,
      [T.namespace]: this.databaseName,
      [T.table]: this.tableName,
      [T.location]: this.tableLocation,
    };
  }

  /**
   * Lets `grantee` make the catalog calls a window commit makes through Glue's Iceberg REST endpoint: read
   * the catalog's configuration and the namespace, create the table once, load it and commit to it. The
   * stack creates the database, so no CreateDatabase. The metadata files are objects in the data folder,
   * which the function's object grants already cover.
   */
  grantCommit(grantee: iam.IGrantable): iam.Grant {
    const { catalog, database, table } = this.arns;
    const grants = [
      iam.Grant.addToPrincipal({ grantee, actions: ['glue:GetCatalog'], resourceArns: [catalog] }),
      iam.Grant.addToPrincipal({ grantee, actions: ['glue:GetDatabase'], resourceArns: [catalog, database] }),
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
        resourceArns: [catalog, database, table],
      }),
    ];
    return grants.reduce((all, next) => all.combine(next));
  }

  /**
   * Lets `grantee` query the table (Athena, Spark on EMR, Glue jobs): read its definition in the Glue Data
   * Catalog, and the data folder, which holds both its data files and its metadata (decrypting them with
   * the bucket's key is `PullerPipeline.grantReadBatches`'s, which also covers the errors folder). Athena
   * also needs its own permissions and a results location, which are the workgroup's.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const { catalog, database, table } = this.arns;
    const definition = iam.Grant.addToPrincipal({
      grantee,
      actions: ['glue:GetCatalog', 'glue:GetDatabase', 'glue:GetTable', 'glue:GetTables'],
      resourceArns: [catalog, database, table],
    });
    return definition.combine(this.props.bucket.grantRead(grantee, `${this.props.dataFolder}*`));
  }
}
