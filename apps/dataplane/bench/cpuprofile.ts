/** What the benches read of a `node --cpu-prof` profile. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTimes {
  /** Self µs by frame: `function file:line`, files shortened to `apps/…`, `packages/…` or `nm:<package>/…`. */
  frames: Map<string, number>;
  /** Self µs by owner: a node_modules package, a node: module, our app or package, or a V8 pseudo-frame. */
  owners: Map<string, number>;
  /** µs in `(idle)`: how loaded the process was, not where its time went (left out of frames and owners). */
  idle: number;
}

/**
 * Self time by frame and by owner of the samples taken in [fromUs, toUs) after the profile started (the whole profile
 * by default), so a bench can cut out the part where its load ran.
 */
export function selfTimes(profile: CpuProfile, fromUs = 0, toUs = Number.POSITIVE_INFINITY): SelfTimes {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const frames = new Map<string, number>();
  const owners = new Map<string, number>();
  let idle = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < profile.startTime + fromUs || at >= profile.startTime + toUs) return;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += delta;
      return;
    }
    const where = url
      .replace(/^file:\/\//, '')
      .replace(/.*\/node_modules\//, 'nm:')
      .replace(/.*\/(apps|packages)\//, '$1/');
    const frame = `${functionName || '(anonymous)'} ${where}${url === '' ? '' : `:${lineNumber + 1}`}`;
    frames.set(frame, (frames.get(frame) ?? 0) + delta);
    const owner =
      url === ''
        ? functionName.startsWith('(')
          ? functionName
          : '(native)'
        : url.startsWith('node:')
          ? url.split('/')[0]!
          : (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? where.split('/').slice(0, 2).join('/'));
    owners.set(owner, (owners.get(owner) ?? 0) + delta);
  });
  return { frames, owners, idle };
}
