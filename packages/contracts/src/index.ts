export * from './config-sync.js';
export * from './request-events.js';
export * from './redis-names.js';
