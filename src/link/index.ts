export * from './types.js';
export * from './params.js';
export * from './link.js';
