export * from './config-sync.js';
