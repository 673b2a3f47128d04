#!/usr/bin/env node
// The kafka-batch-puller command: all of it lives in src/cli; this only runs it and exits.
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
// A client that keeps a socket or timer open must not keep the finished command alive; this timer
// does not itself keep the process alive (unref), so a clean exit happens first.
setTimeout(() => process.exit(), 3000).unref();
