// The channel library: everything here runs in browsers as well as Node (no Node APIs).
export { alts, type AltOp, type AltsOptions, type AltsResult } from "./alts.js";
export {
  buffer,
  type Buffer,
  DroppingBuffer,
  droppingBuffer,
  FixedBuffer,
  PromiseBuffer,
  SlidingBuffer,
  slidingBuffer,
} from "./buffers.js";
export { chan, Channel, type ExHandler, isChannel, MAX_PENDING, type OpOptions, promiseChan } from "./channel.js";
export { into, merge, onto, pipe, reduce, split, toChan, transduce } from "./combinators.js";
export { type AnyWirechanError, type ErrorCode, isWirechanError, type ProtocolErrorCode, TooManyPendingError, WirechanError, WirechanRangeError, WirechanTypeError } from "./errors.js";
export { type Mix, mix, type MixAttrs, type SoloMode } from "./mix.js";
export { type Mult, mult } from "./mult.js";
export { pipeline, pipelineAsync } from "./pipeline.js";
export { type Pub, pub } from "./pub.js";
export { MAX_TIMEOUT_MS, timeout } from "./timeout.js";
export {
  completing,
  ensureReduced,
  isReduced,
  type Reduced,
  reduced,
  type ReducingFunction,
  type Transducer,
  type Transformer,
  unreduced,
} from "./transducer-protocol.js";
export * as xf from "./transducers.js";
