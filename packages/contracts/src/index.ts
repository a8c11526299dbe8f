export * from './api-errors.js';
export * from './config-source.js';
export * from './config-sync.js';
export * from './dashboard-security.js';
export * from './endpoint-url.js';
export * from './request-event-sink.js';
export * from './request-events.js';
export * from './redis-names.js';
