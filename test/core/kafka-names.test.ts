// One rule each for topic names, broker lists and start times, shared by the config, the CLI and the CDK app.
import { describe, expect, it } from 'vitest';
import { parseIsoDateTime } from '../../src/core/iso-time.js';
import { isBrokerAddress, isTopicName, splitBrokerList } from '../../src/core/kafka-names.js';

describe('Kafka naming rules', () => {
  it.each([
    ['orders', true],
    ['orders.v1_raw-2', true],
    ['a'.repeat(249), true],
    ['a'.repeat(250), false],
    ['', false],
    ['orders/v1', false],
    ['orders v1', false],
  ])('topic %j is legal: %s', (name, legal) => {
    expect(isTopicName(name)).toBe(legal);
  });

  it.each([
    ['b1:9092', true],
    ['b-1.kafka.eu-west-1.amazonaws.com:9098', true],
    ['b1', false],
    ['b1:', false],
    ['b1:9092,b2:9092', false],
    [' b1:9092', false],
    ['b1:123456', false],
  ])('broker %j is one host:port: %s', (broker, valid) => {
    expect(isBrokerAddress(broker)).toBe(valid);
  });

  it('splits a broker list, trimming spaces and dropping empty entries', () => {
    expect(splitBrokerList(' b1:9092 , b2:9092,')).toEqual(['b1:9092', 'b2:9092']);
  });

  it.each([
    ['2026-01-31T00:00:00Z', Date.UTC(2026, 0, 31)],
    ['2026-01-31T01:30:00+01:00', Date.UTC(2026, 0, 31, 0, 30)],
    ['2026-01-31', undefined],
    ['1', undefined],
    ['March 7', undefined],
    ['2026-13-45T00:00:00Z', undefined],
  ])('start time %j is %s', (text, ms) => {
    expect(parseIsoDateTime(text)).toBe(ms);
  });
});
