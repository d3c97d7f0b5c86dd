export * from './issues.js';
export * from './reader.js';
export * from './packet.js';
export * from './tcp-reassembly.js';
export * from './tls.js';
export * from './analyze.js';
export * from './filter.js';
export * from './writer.js';
