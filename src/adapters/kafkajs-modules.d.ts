// kafkajs ships no types for its internal modules; kafkajs-internals.ts checks what it gets at run time.
declare module 'kafkajs/src/consumer/batch.js' {
  const Batch: unknown;
  export default Batch;
}
