// The benchmark measures the engine as it ships (the built dist), the way the data plane imports it.
export * from '../dist/index.js';
export { createMemoryPorts } from '../dist/testing/index.js';
// Not exported by the package: the switch that compiles expressions the way they were before issue 12 (bench only).
export { benchmarkSwitches } from '../dist/cel-cost.js';
