/** Rows the fleet store answers with (plain JSON, the same from SQLite and PostgreSQL; times in ms since the epoch). */

/** Result of one ingested batch. */
export interface IngestResult {
  /** Envelopes stored now. */
  stored: number;
  /** Envelopes already stored (delivered again): no effect. */
  duplicates: number;
  /** Stored envelopes whose body had no usable effect for its kind (kept in history, counted). */
  ignored: number;
}

/** One site on the fleet page. */
export interface FleetSite {
  site: string;
  messages: number;
  firstSeen: number;
  lastSeen: number;
  sensors: number;
  stations: number;
  /** Alert occurrences (sum of the aggregated counts). */
  alerts: number;
  /** Aggregated alert rows (rule + flow). */
  alertRows: number;
  commands: number;
  points: number;
}

/** A sensor and its health. */
export interface FleetSensor {
  sensor: string;
  site: string;
  firstSeen: number;
  lastSeen: number;
  messages: number;
  maxSeq: number;
  /** Collector receive time − sensor time of its newest message, ms. */
  lagMs: number;
  /** Messages the sensor reported dropped (its buffer was full). */
  drops: number;
  /** Messages waiting in the sensor's disk buffer at its last health report. */
  bufferDepth: number;
  /** The last health body, as JSON text (null before the first). */
  health: string | null;
}

/** A station seen at a site. */
export interface FleetStation {
  site: string;
  station: string;
  firstSeen: number;
  lastSeen: number;
  cas: number[];
  points: number;
  alerts: number;
  commands: number;
}

/** A current point value. */
export interface FleetPoint {
  site: string;
  station: string;
  ca: number;
  ioa: number;
  type: string;
  /** The value as JSON text. */
  value: string | null;
  quality: string | null;
  ts: number;
}

/** An aggregated alert: count, first and last per site + rule + flow. */
export interface FleetAlert {
  site: string;
  rule: string;
  flow: string;
  station: string;
  severity: string;
  message: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** A command with its outcome and latencies. */
export interface FleetCommand {
  id: string;
  site: string;
  station: string;
  master: string;
  ca: number;
  ioa: number;
  type: string;
  value: string | null;
  outcome: string;
  conLatencyMs: number | null;
  termLatencyMs: number | null;
  ts: number;
}

/** A station with its points, alerts, commands and IOA map. */
export interface FleetStationDetail extends FleetStation {
  pointValues: FleetPoint[];
  alertRows: FleetAlert[];
  commandRows: FleetCommand[];
  ioaMap: Array<{ ca: number; ioa: number; types: string[]; count: number; firstSeen: number; lastSeen: number }>;
}
