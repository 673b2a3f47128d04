// An EventBridge Scheduler target that invokes one Lambda function, and nothing more.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IScheduleTarget } from 'aws-cdk-lib/aws-scheduler';
import { ScheduleTargetBase, type ScheduleTargetBaseProps } from 'aws-cdk-lib/aws-scheduler-targets';

/**
 * Invokes a Lambda function (asynchronously, as Scheduler always does) with `lambda:InvokeFunction` on
 * the function's own ARN. aws-scheduler-targets' `LambdaInvoke` uses `grantInvoke`, which also allows
 * every version and alias (`<arn>:*`); the schedule only ever calls the unqualified function.
 */
export class LambdaInvokeTarget extends ScheduleTargetBase implements IScheduleTarget {
  private readonly fn: lambda.IFunction;

  constructor(fn: lambda.IFunction, props: ScheduleTargetBaseProps = {}) {
    super(props, fn.functionArn);
    this.fn = fn;
  }

  protected addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }),
    );
  }
}
