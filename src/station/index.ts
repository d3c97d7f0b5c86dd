/**
 * Controlled station (RTU/IED): point database, event queue, procedures, TCP server.
 * @packageDocumentation
 */
export * from './point-database.js';
export * from './event-queue.js';
export * from './packing.js';
export * from './commands.js';
export * from './session.js';
export * from './station.js';
export * from './config.js';
export * from './simulator.js';
export * from './access-roles.js';
export * from './command-audit.js';
export * from './misbehave.js';
export * from './file-service.js';
export * from './file-folder.js';
export * from './budget.js';
