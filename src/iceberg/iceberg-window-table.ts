// The WindowTable port over an Iceberg table: each closed window's Parquet parts committed as one append
// snapshot (commitWindow), in a table made to exist and fit the pipeline's columns first (ensureTable).
import type { ParquetLayout } from '../core/parquet-schema.js';
import { unionOfShapes } from '../core/shape-union.js';
import { shapeText } from '../core/value-shape.js';
import type {
  LandedWindow,
  TableCommitOutcome,
  TableRollback,
  TableRollbackResult,
  WindowTable,
} from '../ports.js';
import { type CommitWindowOptions, commitWindow, type IcebergIo } from './commit-window.js';
import { dataFileEntriesOf } from './data-files.js';
import { ensureTable } from './ensure-table.js';
import { CommitConflictError, TableSchemaMismatchError } from './iceberg-errors.js';
import type { LoadedTable, TableIdentifier } from './ports.js';
import { planRollback } from './table-rollback.js';

/** Where a pipeline's windows are committed, and what they hold. */
export interface IcebergWindowTableOptions {
  readonly io: IcebergIo;
  readonly table: TableIdentifier;
  /** The columns the parts hold: the table is created with, or evolved to, them. */
  readonly layout: ParquetLayout;
  /** The full location (s3://bucket/key) of a part's key. */
  readonly locate: (key: string) => string;
  /** Where the table keeps its metadata, if this creates it. @default - the catalog's choice */
  readonly tableLocation?: string;
  /** How commits retry. @default - commitWindow's defaults */
  readonly commit?: CommitWindowOptions;
}

/** Rollbacks tried before giving up on a table other writers keep moving. */
const ROLLBACK_ATTEMPTS = 5;

/** Commits closed windows to an Iceberg table, one append snapshot each, exactly once. */
export class IcebergWindowTable implements WindowTable, TableRollback {
  /**
   * The table as ensureTable left it; made once per adapter (a run), on its first window with rows, and
   * again for a window whose typed values have another shape (`ensuredFor`).
   */
  private ensured: Promise<LoadedTable> | undefined;
  private ensuredFor: string | undefined;
  /** Whether `ensured` is still the table's latest state known to this adapter (no commit since). */
  private fresh = false;

  constructor(private readonly options: IcebergWindowTableOptions) {}

  /**
   * The columns a window's parts hold: the pipeline's, with a typed value column that holds every
   * schema's values the window has (none when no part has one).
   * @throws TableSchemaMismatchError when the schemas' shapes cannot be one column.
   */
  private layoutOf(window: LandedWindow): ParquetLayout {
    const { valueShapes } = window;
    if (valueShapes === undefined) return this.options.layout;
    if (valueShapes.length === 0) return { ...this.options.layout, valueShape: null };
    const union = unionOfShapes(valueShapes);
    if (Array.isArray(union)) throw new TableSchemaMismatchError(this.options.table, union);
    return { ...this.options.layout, valueShape: union };
  }

  private ensure(layout: ParquetLayout): Promise<LoadedTable> {
    const key = layout.valueShape ? shapeText(layout.valueShape) : String(layout.valueShape);
    if (this.ensured === undefined || this.ensuredFor !== key) {
      this.fresh = true;
      this.ensuredFor = key;
      this.ensured = ensureTable(
        this.options.io.catalog,
        this.options.table,
        layout,
        this.options.tableLocation,
      );
      this.ensured.catch(() => {
        this.ensured = undefined;
      });
    }
    return this.ensured;
  }

  async commitWindow(window: LandedWindow): Promise<TableCommitOutcome> {
    // No catalog request for a window without rows: it makes no snapshot (see commitWindow).
    if (window.parts.every((part) => part.records === 0)) return 'empty';
    const ensured = await this.ensure(this.layoutOf(window));
    const current = this.fresh ? ensured : undefined;
    this.fresh = false;
    const schema = ensured.metadata.schemas.find(
      (s) => s['schema-id'] === ensured.metadata['current-schema-id'],
    );
    if (schema === undefined) throw new Error('the ensured table has no current schema');
    const files = dataFileEntriesOf(window.parts, this.options.locate, schema);
    const { pipelineId, startMs, endMs, endOffsets } = window;
    const result = await commitWindow(
      this.options.io,
      this.options.table,
      { pipelineId, startMs, endMs, endOffsets },
      files,
      { ...this.options.commit, ...(current ? { current } : {}) },
    );
    return result.outcome;
  }

  async rollBackFrom(pipelineId: string, fromMs: number | null): Promise<TableRollbackResult> {
    const { catalog } = this.options.io;
    for (let attempt = 1; ; attempt++) {
      const loaded = await catalog.loadTable(this.options.table);
      if (loaded === undefined) return { kind: 'nothing' };
      const plan = planRollback(loaded.metadata, pipelineId, fromMs);
      if (plan.kind !== 'roll-back') return plan;
      try {
        await catalog.commitTable(this.options.table, plan.commit);
      } catch (error) {
        // Another writer moved main since the load: plan again on its new head.
        if (error instanceof CommitConflictError && attempt < ROLLBACK_ATTEMPTS) continue;
        throw error;
      }
      this.ensured = undefined;
      const { windows, headBefore, headAfter } = plan;
      return { kind: 'rolled-back', windows, headBefore, headAfter };
    }
  }
}
