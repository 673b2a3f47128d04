// Waits until a Kafka broker answers a metadata request, or fails after a timeout.
// Usage: node wait-for-kafka.mjs <host:port> <timeoutSeconds> [pidFile]
// With a pid file, gives up at once when that process has exited (a broker that crashed on start).
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const [broker, timeoutArg = '60', pidFile] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg) * 1000;

function processExited() {
  if (!pidFile) return false;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 0);
    return false;
  } catch {
    return true;
  }
}

const kafka = new Kafka({
  clientId: 'wait-for-kafka',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  retry: { retries: 0 },
});

while (Date.now() < deadline) {
  if (processExited()) {
    console.error(`the broker process exited before ${broker} answered`);
    process.exit(1);
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length > 0 && cluster.controller !== null) {
      await admin.disconnect();
      process.exit(0);
    }
  } catch {
    // not up yet
  }
  await admin.disconnect().catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 250));
}
console.error(`no metadata answer from ${broker} within ${timeoutArg}s`);
process.exit(1);
