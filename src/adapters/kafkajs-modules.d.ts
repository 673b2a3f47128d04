// kafkajs ships no types for its internal modules; kafkajs-internals.ts checks what it gets at run time.
declare module 'kafkajs/src/consumer/batch.js' {
  const Batch: unknown;
  export default Batch;
}
declare module 'kafkajs/src/protocol/encoder.js' {
  const Encoder: unknown;
  export default Encoder;
}
declare module 'kafkajs/src/protocol/decoder.js' {
  const Decoder: unknown;
  export default Decoder;
}
declare module 'kafkajs/src/protocol/error.js' {
  const errors: unknown;
  export default errors;
}
