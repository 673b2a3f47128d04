// A Lambda on-failure destination that may only send to its queue.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Sends a function's failed or expired asynchronous invocations to an SQS queue, granting the function
 * `sqs:SendMessage` on that queue only (aws-lambda-destinations' `SqsDestination` also grants
 * GetQueueAttributes and GetQueueUrl, which Lambda does not use). The queue must not need a customer
 * managed KMS key.
 */
export class QueueDestination implements lambda.IDestination {
  private readonly queue: sqs.IQueue;

  constructor(queue: sqs.IQueue) {
    this.queue = queue;
  }

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    return { destination: this.queue.queueArn };
  }
}
