/** Node-only helpers for Gatehouse's own tests (a subpath, so production code never loads them by accident). */
export { pidsConnectedTo, tcpPortsOwnedBy } from './tcp-sockets.js';
