// PullerPipeline as an aws-cdk-lib construct: `new PullerPipeline(scope, id, props)` anywhere in the app,
// counted by its puller wherever it lives, and checked like `addPipeline`.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { KafkaBatchPuller, KafkaSecurityMode, PullerPipeline } from '../../lib/index.js';
import { newStack } from './support.js';

describe('PullerPipeline constructed with (scope, id, props)', () => {
  const stack = newStack();
  const puller = new KafkaBatchPuller(stack, 'Puller', {
    brokers: ['b:9092'],
    kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
  });
  const added = puller.addPipeline('Orders', { topic: 'orders' });
  const elsewhere = new PullerPipeline(stack, 'Clicks', { puller, topic: 'clicks' });

  it('uses its puller wherever its scope is, and the puller lists it', () => {
    expect(elsewhere.puller).toBe(puller);
    expect(elsewhere.node.path).toBe('Test/Clicks');
    expect(puller.pipelines).toEqual([added, elsewhere]);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 2);
  });

  it('is checked against its puller’s other pipelines', () => {
    expect(
      () => new PullerPipeline(stack, 'OrdersAgain', { puller, topic: 'other', groupId: added.groupId }),
    ).toThrow(`groupId '${added.groupId}' is already used by pipeline 'Orders'`);
  });

  it('names a missing handlerEntry', () => {
    const other = new KafkaBatchPuller(new Stack(stack.node.root, 'Other'), 'Puller', {
      brokers: ['b:9092'],
      kafkaSecurity: KafkaSecurityMode.PLAINTEXT,
    });
    expect(() =>
      other.addPipeline('Orders', { topic: 'orders', handlerEntry: 'no/such/handler.ts' }),
    ).toThrow("handlerEntry must be the path of an existing handler file, got 'no/such/handler.ts'");
  });
});
