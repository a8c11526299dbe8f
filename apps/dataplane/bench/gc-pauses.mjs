// Preloaded (`node --import bench/gc-pauses.mjs`) into the processes a bench starts when BENCH_GC_LOG names a file:
// appends one line per major (mark-compact) GC — `<role> <pid> <epoch ms at its end> <pause ms>` — so the bench can
// tell how much of a tail latency is a process stopped for its garbage collector. Observing GC entries costs a
// callback per GC, nothing per request.
import { appendFileSync } from 'node:fs';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_GC_LOG;
const role = process.env.BENCH_GC_ROLE ?? 'process';
if (file) {
  new PerformanceObserver((list) => {
    let lines = '';
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      lines += `${role} ${process.pid} ${Math.round(performance.timeOrigin + entry.startTime + entry.duration)} ${entry.duration.toFixed(2)}\n`;
    }
    if (lines !== '') appendFileSync(file, lines);
  }).observe({ entryTypes: ['gc'] });
}
