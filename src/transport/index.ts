export * from './tcp-link.js';
