// Rebuilds the Lambda handler bundle (dist/handler) before any test: the constructs package it, and the
// bundle tests load it, so it must match the source under test.
import { bundleHandler } from '../../scripts/bundle-handler.js';

export default async function setup(): Promise<void> {
  const started = Date.now();
  const { bytes } = await bundleHandler();
  console.log(`handler bundle: ${(bytes / 1024).toFixed(0)} KiB, built in ${Date.now() - started} ms`);
}
