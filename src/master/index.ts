export * from './errors.js';
export * from './connection.js';
export * from './backoff.js';
export * from './points.js';
export * from './master.js';
export * from './tcp.js';
export * from './redundancy-group.js';
export * from './file-transfer.js';
