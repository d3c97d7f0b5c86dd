/**
 * The web workbench: live station, master and proxy views, the frame decoder and the capture page
 * in a browser, served by a small HTTP server with a JSON API (see docs/web.md).
 */
export { startWorkbench, isLoopback, parseUiAddress, WorkbenchError, type Workbench, type WorkbenchOptions, type CommandRequest } from './server.js';
export { analyzeCaptureForView, captureApduHex, type CaptureView, type CaptureViewOptions, type CaptureApduRow } from './capture-view.js';
export {
  decodeAnswer, layerOf, parseHexText, rowFromPointValue, rowFromStationPoint,
  type PointRow, type ConnectionRow, type CommandRow, type AlertRow, type DecodeAnswer, type FieldLayer, type GroupRow, type TlsRow,
} from './model.js';
export { latencyGroups, latencyHistogram, type LatencyAnswer, type LatencyGroup, type LatencyHistogram, type LatencySample } from './latency.js';
