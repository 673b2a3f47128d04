// An S3 client that counts the answers 412 Precondition Failed it gets: what create-only writes meet
// when their key is already there.
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/adapters/aws-clients.js';

/** An S3 client (the engine's kind, so the IAM audit sees its requests) and its count of 412 answers. */
export function countingClient(): { client: S3Client; seen: { preconditionFailed: number } } {
  const client = createS3Client();
  const seen = { preconditionFailed: 0 };
  // Beside the deserializer, below the retries: every answer, before it becomes a result or an error.
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      if ((out.response as { statusCode?: number }).statusCode === 412) seen.preconditionFailed++;
      return out;
    },
    { step: 'deserialize', name: 'countPreconditionFailed' },
  );
  return { client, seen };
}
