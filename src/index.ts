/**
 * iec104: IEC 60870-5-104 toolkit.
 * @packageDocumentation
 */
export * from './codec/index.js';
export * from './clock.js';
export * from './log.js';
export * from './link/index.js';
export * from './transport/index.js';
export * from './master/index.js';
export * from './station/index.js';
export * from './monitor/index.js';
export * from './capture/index.js';
export * from './web/index.js';
