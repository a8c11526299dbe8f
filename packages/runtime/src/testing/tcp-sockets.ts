import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Who holds which TCP socket, read from /proc the way `ss -tp` does: /proc/net/tcp{,6} name each socket's ports and
 * inode, /proc/<pid>/fd links name the socket inodes a process holds. Tests use it to prove which process opened a
 * connection (the agent, never a data plane), which a server's own view of peer addresses cannot tell apart when every
 * process is on loopback. Linux only.
 */
interface TcpSocket {
  localPort: number;
  remotePort: number;
  inode: string;
}

function tcpSockets(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 table on this kernel
    }
    for (const row of text.split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      const [, local, remote] = fields;
      const inode = fields[9];
      if (local === undefined || remote === undefined || inode === undefined || inode === '0') continue;
      sockets.push({ localPort: portOf(local), remotePort: portOf(remote), inode });
    }
  }
  return sockets;
}

/** `0100007F:1F90` → 8080. */
function portOf(address: string): number {
  return Number.parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
}

function socketInodesOf(pid: number | string): Set<string> {
  const inodes = new Set<string>();
  let descriptors: string[];
  try {
    descriptors = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes; // gone, or not ours to read
  }
  for (const descriptor of descriptors) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${descriptor}`))?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // Closed between listing and reading.
    }
  }
  return inodes;
}

/** The local ports of every TCP socket the process holds. */
export function tcpPortsOwnedBy(pid: number): Set<number> {
  const inodes = socketInodesOf(pid);
  return new Set(tcpSockets().flatMap((socket) => (inodes.has(socket.inode) ? [socket.localPort] : [])));
}

/** The processes holding a TCP socket whose remote end is `port` on this machine. */
export function pidsConnectedTo(port: number): Set<number> {
  const inodes = new Set(tcpSockets().flatMap((socket) => (socket.remotePort === port ? [socket.inode] : [])));
  const owners = new Set<number>();
  if (inodes.size === 0) return owners;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const inode of socketInodesOf(entry)) {
      if (inodes.has(inode)) {
        owners.add(Number(entry));
        break;
      }
    }
  }
  return owners;
}
