#!/usr/bin/env node
// The CDK app: one KafkaBatchPullerStack built from CDK context (cdk.json, overridden with -c key=value).
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KafkaBatchPullerStack } from '../lib/kafka-batch-puller-stack.js';
import { appSettingsFromContext } from '../lib/stack-context.js';

const app = new App();
const settings = appSettingsFromContext((key) => app.node.tryGetContext(key));

new KafkaBatchPullerStack(app, settings.stackName, {
  ...settings.props,
  // Environment-agnostic unless the CLI found credentials: synth works offline, deploy targets the
  // CLI's account and region.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'kafka-batch-puller: scheduled micro-batches from Kafka topics to S3',
});

if (settings.nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
