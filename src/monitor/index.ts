/**
 * Passive monitoring of IEC 60870-5-104 traffic: session shadowing, validity checks, inventory,
 * command tracking, detections, policy and baseline.
 */
export * from './types.js';
export * from './roles.js';
export * from './window.js';
export * from './session-shadow.js';
export * from './validity.js';
export * from './inventory.js';
export * from './commands.js';
export * from './rules.js';
export * from './policy.js';
export * from './baseline.js';
export * from './detector.js';
export * from './from-capture.js';
export * from './proxy.js';
export * from './detector-thread.js';
export * from './json-output.js';
export * from './aggregate.js';
export * from './incidents.js';
export * from './sessions.js';
export * from './techniques.js';
export * from './file-transfers.js';
