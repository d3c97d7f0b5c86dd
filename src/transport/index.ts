export * from './tcp-link.js';
export * from './security-events.js';
export * from './tls-config.js';
export * from './tls-verify.js';
export * from './access-control.js';
export * from './audit-log.js';
export * from './test-pki.js';
