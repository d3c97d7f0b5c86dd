/**
 * Where the locally built peer stacks are, taken from the environment (opt-in `npm run interop`).
 *
 * - `IEC104_LIB60870_BUILD`: the CMake build folder of lib60870-C 2.4.1 (examples under
 *   `examples/*`), built with mbedTLS as described in the project's peer notes.
 * - `IEC104_LIB60870_CERTS`: a folder with lib60870's test certificates (`server_CA1_1.pem/.key`,
 *   `root_CA1.pem`, `client_CA1_1.pem/.key`), copied beside the TLS examples when they run.
 * - `IEC104_LIB60870_PROBES`: a folder with the compiled probes `tp_server`, `tp_client_obj`,
 *   `rtt_client`.
 * - `IEC104_J60870_JAR`: the j60870 peers jar (`J60870Server`, `J60870Client`).
 *
 * The example stations of lib60870 bind fixed ports (2404, 19998): `npm run interop` runs each
 * interop file in a network namespace of its own (as root), so they can use 127.0.0.1:2404 freely.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** A peer location, or a reason to skip. */
export type PeerPath = { path: string } | { skip: string };

function fromEnv(name: string, ...sub: string[]): PeerPath {
  const base = process.env[name];
  if (!base) return { skip: `${name} not set` };
  const p = join(base, ...sub);
  return existsSync(p) ? { path: p } : { skip: `${p} (from ${name}) does not exist` };
}

/** One lib60870-C example program, e.g. `lib60870Example('cs104_server')`. */
export function lib60870Example(name: string): PeerPath {
  return fromEnv('IEC104_LIB60870_BUILD', 'examples', name, name);
}

/** The folder of lib60870's test certificates. */
export function lib60870Certs(): PeerPath {
  return fromEnv('IEC104_LIB60870_CERTS');
}

/** One of the lib60870 probes (`tp_server`, `tp_client_obj`, `rtt_client`). */
export function lib60870Probe(name: string): PeerPath {
  return fromEnv('IEC104_LIB60870_PROBES', name);
}

/** The j60870 peers jar. */
export function j60870Jar(): PeerPath {
  return fromEnv('IEC104_J60870_JAR');
}

/** `{ skip }` options for node:test when any of the peers is missing. */
export function skipUnless(...peers: PeerPath[]): { skip?: string } {
  const missing = peers.find((p): p is { skip: string } => 'skip' in p);
  return missing ? { skip: missing.skip } : {};
}
