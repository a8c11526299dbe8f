// The benchmark measures the engine as it ships (the built dist), the way the data plane imports it.
export * from '../dist/index.js';
export { createMemoryPorts } from '../dist/testing/index.js';
