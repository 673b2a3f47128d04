// Which windows of a topic the output already holds from a given window on, found by their manifests:
// what a reset would land again. One listing of the topic's folder (S3: ListObjectsV2 from the window's
// key on; a local folder: its files), since keys sort by window start.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { OutputTarget } from '../config.js';
import { ManifestFileName } from '../core/key-layout.js';
import type { LandedWindows } from '../engine/reset-pipeline.js';

const isManifest = (key: string) => key.endsWith(`/${ManifestFileName}`);

/** The landed windows of an S3 output. */
export function s3LandedWindows(s3: S3Client, bucket: string): LandedWindows {
  return {
    async manifestsFrom(topicFolder, fromFolder) {
      const found: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: `${topicFolder}/`,
            // A window's objects sort after its folder's name, and every earlier window's before it.
            ...(fromFolder && token === undefined ? { StartAfter: fromFolder } : {}),
            ContinuationToken: token,
          }),
        );
        for (const object of page.Contents ?? [])
          if (object.Key && isManifest(object.Key)) found.push(object.Key);
        token = page.NextContinuationToken;
      } while (token);
      return found;
    },
  };
}

/** The landed windows of a local output folder. */
export function directoryLandedWindows(root: string): LandedWindows {
  return {
    async manifestsFrom(topicFolder, fromFolder) {
      const names = await readdir(join(root, ...topicFolder.split('/')), { recursive: true }).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return [];
          throw error;
        },
      );
      return names
        .map((name) => `${topicFolder}/${name.split(/[\\/]/).join('/')}`)
        .filter((key) => isManifest(key) && (fromFolder === undefined || key > fromFolder))
        .sort();
    },
  };
}

/** The landed windows of `output`; an S3 output lists through `s3`. */
export function landedWindowsOf(output: OutputTarget, s3: () => S3Client): LandedWindows {
  return output.kind === 's3' ? s3LandedWindows(s3(), output.bucket) : directoryLandedWindows(output.path);
}
