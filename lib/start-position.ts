// Where a new pipeline (no saved state yet) starts reading its topic.
import { parseIsoDateTime } from '../src/core/iso-time.js';

/** Where a new pipeline starts reading; ignored once the pipeline has saved state. */
export class StartPosition {
  /** The oldest record each partition still holds. */
  static readonly EARLIEST = new StartPosition('earliest');
  /** Records written after the first run. */
  static readonly LATEST = new StartPosition('latest');

  /** The first record at or after `time` in each partition (Kafka's offsets-for-times lookup). */
  static at(time: Date): StartPosition {
    if (Number.isNaN(time.getTime())) {
      throw new Error('StartPosition.at needs a valid Date');
    }
    return new StartPosition(time.toISOString());
  }

  /**
   * Parses the Lambda's START_POSITION form: `earliest`, `latest` or an ISO-8601 time.
   * @returns undefined when `value` is none of these.
   */
  static parse(value: string): StartPosition | undefined {
    if (value === 'earliest') return StartPosition.EARLIEST;
    if (value === 'latest') return StartPosition.LATEST;
    const ms = parseIsoDateTime(value);
    return ms === undefined ? undefined : new StartPosition(new Date(ms).toISOString());
  }

  /** The START_POSITION value the function reads. */
  readonly value: string;

  private constructor(value: string) {
    this.value = value;
  }
}
