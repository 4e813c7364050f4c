/**
 * compress — layer blob compression: what a layer is compressed as (spec), the encoders and
 * decoders (codec), the `Compressor` seam with its in-thread implementation (compressor) and
 * the worker-thread pool (pool).
 */
export * from './codec.js';
export * from './compressor.js';
export * from './pool.js';
export * from './spec.js';
