// Topics of one bench invocation: each named bench-<uuid>, all deleted at the end to keep the broker light.
import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';

/** Creates and deletes the bench's topics through one admin connection. */
export class BenchTopics {
  private readonly admin: Admin;
  private readonly created: string[] = [];

  constructor(brokers: readonly string[]) {
    this.admin = new Kafka({
      clientId: 'kbp-bench-admin',
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
    }).admin();
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  /** Creates a new, uniquely named topic and returns its name. */
  async create(partitions: number, label: string): Promise<string> {
    const topic = `bench-${label}-${randomUUID()}`;
    await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    this.created.push(topic);
    return topic;
  }

  /** The sum over partitions of high watermark minus low: how many records the topic holds. */
  async count(topic: string): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  }

  /** Deletes one topic now (a large one should not wait for the end of the bench). */
  async remove(topic: string): Promise<void> {
    await this.admin.deleteTopics({ topics: [topic] });
    this.created.splice(this.created.indexOf(topic), 1);
  }

  /** Deletes every topic this instance created and disconnects. Failures are reported, not thrown. */
  async close(log: (line: string) => void): Promise<void> {
    if (this.created.length > 0) {
      await this.admin.deleteTopics({ topics: this.created }).catch((error: unknown) => {
        log(`could not delete the bench topics ${this.created.join(', ')}: ${String(error)}`);
      });
    }
    await this.admin.disconnect();
  }
}
