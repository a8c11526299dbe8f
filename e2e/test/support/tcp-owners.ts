import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The processes holding a TCP socket whose remote end is `127.0.0.1:<port>` (or `::1`), read from /proc as `ss -tp`
 * would: /proc/net/tcp{,6} name each socket's inode, /proc/<pid>/fd links name the inodes a process holds. Used to prove
 * who connects to an upstream (the agent, never a data plane), which a server's own view of peer addresses cannot
 * tell apart when every process is on loopback.
 */
export function pidsConnectedTo(port: number): Set<number> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      const inode = fields[9];
      if (remote === undefined || inode === undefined || inode === '0') continue;
      const remotePort = Number.parseInt(remote.split(':')[1] ?? '', 16);
      if (remotePort === port) inodes.add(inode);
    }
  }
  const owners = new Set<number>();
  if (inodes.size === 0) return owners;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let descriptors: string[];
    try {
      descriptors = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const descriptor of descriptors) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${descriptor}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match !== null && inodes.has(match[1]!)) owners.add(Number(entry));
    }
  }
  return owners;
}
