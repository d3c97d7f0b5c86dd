/**
 * iec104: IEC 60870-5-104 toolkit. The package's front door: every public name, named here and
 * nowhere else (docs/api-report.md lists them; internals stay in their modules).
 * @packageDocumentation
 */
export {
  CaptureAnalyzer, analyzeBytes, analyzeStream, recordJsonDirection, recordJsonHead, recordJsonTail,
  recordJsonText, recordToJson, senderRole,
} from './capture/analyze.js';
export type {
  AnalysisResult, AnalyzeHandlers, AnalyzeOptions, AnalyzeSummary, ApduDirection, ApduRecord,
  ApduRecordJson, Endpoint, FlowEndReason, FlowInfo, FlowKind, FlowTableStats, StreamAnomaly,
} from './capture/analyze.js';
export { FILTER_FIELDS, FilterSyntaxError, compileFilter } from './capture/filter.js';
export type { RecordFilter } from './capture/filter.js';
export { IpDefragmenter } from './capture/ip-fragments.js';
export type { IpDefragOptions, IpDefragStats, ReassembledDatagram } from './capture/ip-fragments.js';
export type { CaptureIssue, CaptureIssueCode, CaptureLocation } from './capture/issues.js';
export {
  LINKTYPE, PacketDecoder, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, formatEndpoint, formatIp,
  isSupportedLinkType, parseIp,
} from './capture/packet.js';
export type { PacketSkip, TcpPacket } from './capture/packet.js';
export { CaptureReader, MAX_RECORD_BYTES, formatPacketTime } from './capture/reader.js';
export type { CaptureFormat, CaptureReaderEvents, CapturedPacket, PacketTime } from './capture/reader.js';
export { HISTORY_BYTES, TcpDirection } from './capture/tcp-reassembly.js';
export type {
  ReassemblyOptions, SegmentMeta, StreamEndReason, StreamSink,
} from './capture/tcp-reassembly.js';
export { looksLikeTls, parseTlsHello, tlsVersionName } from './capture/tls.js';
export type { TlsInfo } from './capture/tls.js';
export {
  SynthSession, buildTcpPacket, concatBytes, fragmentFrame, linkHeaderLength, linkTypeOf, writePcap,
  writePcapng,
} from './capture/writer.js';
export type {
  PacketToWrite, PcapWriteOptions, PcapngInterface, PcapngWriteOptions, SynthLink, SynthSide, TcpSpec,
} from './capture/writer.js';
export { VirtualClock, systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export {
  MAX_APDU_LENGTH, MAX_ASDU_LENGTH, MIN_APDU_LENGTH, SEQ_MODULO, START_BYTE, U_FUNCTIONS,
  decodeControlField, encodeSFrame, encodeUFrame, seqDistance, writeControlField,
} from './codec/apci.js';
export type { Apci, UFunction } from './codec/apci.js';
export { decodeApdu, encodeApdu, encodeIFrame, setIFrameSeq } from './codec/apdu.js';
export type { Apdu } from './codec/apdu.js';
export { asduSize, decodeAsdu, decodeAsduAt, encodeAsdu, encodeAsduInto } from './codec/asdu.js';
export type { Asdu, DecodeOptions, InformationObject } from './codec/asdu.js';
export { COT, cotName, cotShortName, isAnswerCause, isDefinedCause } from './codec/cause.js';
export {
  COMMAND_KINDS, DoubleCommandState, RegulatingStepState, commandFamily, commandFromObject, commandKindOf,
  commandToObject, commandTypeFor, commandTypeId, isTimedCommandType,
} from './codec/command.js';
export type {
  BitstringCommandSpec, Command, CommandCommon, CommandKind, DoubleCommandSpec, RegulatingStepCommandSpec,
  SetpointFloatCommandSpec, SetpointNormalizedCommandSpec, SetpointScaledCommandSpec, SingleCommandSpec,
} from './codec/command.js';
export {
  AFQ, BCR, BSI, CHS, COI, CP16_DELAY, CP16_DURATION, CP16_ELAPSED, CP16_OPERATING, CP24, CP56, CP56_START,
  CP56_STOP, DCO, DIQ, FBP, FRQ, LOF, LSQ, NOF, NOS, NVA, OCI, QCC, QDP, QDS, QOI, QOS, QPA, QPM, QRP, R32,
  RCO, SCD, SCO, SCQ, SEGMENT, SEP, SIQ, SOF, SPE, SRQ, SVA, TSC, VTI, formatF32, nvaFromRaw, nvaToRaw,
  qoiName,
} from './codec/elements.js';
export type {
  FieldCodec, OutputCircuits, ProtectionQuality, Quality, ReadContext, StartEvents,
} from './codec/elements.js';
export { CodecError } from './codec/errors.js';
export type { CodecErrorCode, CodecWarning, CodecWarningCode, DecodeResult } from './codec/errors.js';
export { explainApdu, formatExplanation, octetsToHex } from './codec/explain.js';
export type { ExplainRow, Explanation, FormatOptions } from './codec/explain.js';
export {
  Afq, FILE_COT, FileErrorCause, Lsq, MAX_FILE_LENGTH, MAX_SECTIONS, NOF_TRANSPARENT, Scq, ackAsdu,
  callAsdu, callDirectoryAsdu, directoryAsdus, directoryObjectsPerAsdu, fileChecksum, fileErrorName,
  fileReadyAsdu, lastAsdu, maxSegmentSize, queryLogAsdu, sectionCount, sectionReadyAsdu, sectionSizeFor,
  segmentAsdu,
} from './codec/file-transfer.js';
export type { DirectoryEntry, FileAddress } from './codec/file-transfer.js';
export { float32Number, formatFloat32 } from './codec/float32-text.js';
export { ApduSplitter } from './codec/frame-splitter.js';
export type { SplitterEvents } from './codec/frame-splitter.js';
export { apduJsonText, apduToJson, cp56Iso, hasFloat32Value, toJsonValue } from './codec/json-view.js';
export type { ApduJson, JsonApci, JsonAsdu, JsonCp56Time, JsonObject, JsonValue } from './codec/json-view.js';
export { objectText, objectValueText, objectsText } from './codec/object-text.js';
export { IEC104_OPTIONS, broadcastAddress, headerSize, resolveOptions } from './codec/options.js';
export type { CodecOptions } from './codec/options.js';
export {
  checkCp24, checkCp56, cp56FieldProblems, cp56FromDate, cp56ToDate, formatCp56, readCp24, readCp56,
  writeCp24, writeCp56,
} from './codec/time.js';
export type { Cp24Time, Cp56Time } from './codec/time.js';
export {
  TypeId, allTypes, causeAllowed, familyOf, isControlType, isFileType, isMonitorType, isParameterType,
  isProcessCommand, isSystemCommand, timedVariantOf, typeInfo, typeName, untimedVariantOf,
} from './codec/type-table.js';
export type { Direction, QualifierKind, TypeCategory, TypeFamily, TypeInfo } from './codec/type-table.js';
export { Link, LinkUsageError } from './link/link.js';
export { LinkParameterError, resolveLinkParameters } from './link/params.js';
export { DEFAULT_LINK_PARAMETERS } from './link/types.js';
export type {
  LinkCloseCode, LinkCloseReason, LinkEvents, LinkOptions, LinkParameters, LinkRole, LinkSnapshot,
  LinkState,
} from './link/types.js';
export { createLogger, isNullLogger, nullLogger } from './log.js';
export type { LogLevel, LogRecord, Logger, LoggerOptions } from './log.js';
export { DEFAULT_BACKOFF, backoffDelay } from './master/backoff.js';
export type { BackoffOptions } from './master/backoff.js';
export type { ConnectContext, Connector, MasterLink } from './master/connection.js';
export {
  ConnectionLostError, MasterError, NegativeConfirmationError, RequestTimeoutError,
} from './master/errors.js';
export type { MasterErrorCode, RequestKey, RequestPhase } from './master/errors.js';
export { FileTransferClient, FileTransferError } from './master/file-transfer.js';
export type {
  DownloadOptions, FileOperationOptions, FileProgress, FileTransferErrorCode, FileTransferHost,
  FileTransferResult, RemoteFile, UploadOptions,
} from './master/file-transfer.js';
export { ControllingStation } from './master/master.js';
export type {
  CommandOptions, CommandResult, ControllingStationEventMap, ControllingStationOptions, DoubleCommandValue,
  InterrogationResult, MasterCounters, MasterSnapshot, MasterState, ReadResult, RequestOptions,
  RequestResult, RoundTrip, StepCommandValue,
} from './master/master.js';
export { PointImage, isMonitorData, toPointValues } from './master/points.js';
export type { PointValue, PointValueType } from './master/points.js';
export { RedundancyGroup } from './master/redundancy-group.js';
export type {
  ActivationReason, RedundancyEndpoint, RedundancyGroupEventMap, RedundancyGroupOptions,
  RedundancyGroupSnapshot,
} from './master/redundancy-group.js';
export { IEC104_PORT, parseHostPort, tcpConnector } from './master/tcp.js';
export type { TcpConnectorOptions } from './master/tcp.js';
export { AlertAggregator, DEFAULT_AGGREGATE_WINDOW_MS } from './monitor/aggregate.js';
export type { AggregateOptions, AlertAggregate, AlertRecord } from './monitor/aggregate.js';
export {
  BaselineEnforcer, BaselineLearner, DEFAULT_BASELINE_TOLERANCE, MIN_PERIOD_INTERVALS, PERIOD_AGREEMENT,
  agreedPeriod, baselineToYaml, formatRanges, inferPolicy, learnBaseline, parseBaselineYaml,
  parseRangeList, typeIdFromName,
} from './monitor/baseline.js';
export type {
  Baseline, BaselineMaster, BaselineStation, BaselineTolerance, LearnOptions,
} from './monitor/baseline.js';
export { CommandTracker, DEFAULT_COMMAND_CONFIG, percentiles } from './monitor/commands.js';
export type {
  CommandConfig, CommandRecord, CommandStats, Percentiles, TrackedOutcome,
} from './monitor/commands.js';
export { DetectorThread } from './monitor/detector-thread.js';
export type {
  BatchResult, DetectorFinal, DetectorThreadOptions, SeqEvents,
} from './monitor/detector-thread.js';
export { Detector, monitorTraffic } from './monitor/detector.js';
export type { DetectorOptions, MonitorResult, StreamAnomalyInput } from './monitor/detector.js';
export { FileTransferTracker } from './monitor/file-transfers.js';
export type {
  FileTransferOutcome, FileTransferTrackerConfig, ObservedFileTransfer,
} from './monitor/file-transfers.js';
export { monitorCapture, observedFromRecord } from './monitor/from-capture.js';
export type { CaptureMonitorResult } from './monitor/from-capture.js';
export {
  DEFAULT_INVENTORY_CONFIG, Inventory, PeriodTracker, formatFileTransfer, median, renderInventory,
} from './monitor/inventory.js';
export type {
  InventoryConfig, InventorySummary, IoaSummary, MasterSummary, PeriodSummary, RenderInventoryOptions,
  StationSummary, TestfrSummary,
} from './monitor/inventory.js';
export {
  alertAggregateJson, alertJson, commandJson, inventoryJson, isoFromEpochMs,
} from './monitor/json-output.js';
export type { AlertAggregateJson, AlertJson, CommandJson, InventoryJson } from './monitor/json-output.js';
export {
  POLICY_DOCUMENT_LIMITS, PolicyChecker, PolicyError, certificateSubjectMatches, parseAddressMatch,
  parseDistinguishedName, parsePolicy, typeToken, validatePolicy,
} from './monitor/policy.js';
export type {
  AddressMatch, AllowDocument, AllowRule, NumRange, Policy, PolicyDocument, PolicyIssue, PolicyMaster,
  SubjectAttribute,
} from './monitor/policy.js';
export { startProxy } from './monitor/proxy.js';
export type { ProxyOptions, ProxyStats, RunningProxy } from './monitor/proxy.js';
export { RoleTracker, isReplyCause, isTrackedCommandType } from './monitor/roles.js';
export type { RoleOptions } from './monitor/roles.js';
export { BehaviourRules, DEFAULT_RULE_CONFIG, RULES } from './monitor/rules.js';
export type { DistinctThreshold, RateThreshold, RuleConfig, RuleInfo } from './monitor/rules.js';
export { DEFAULT_LINK_CONFIG, SessionShadow } from './monitor/session-shadow.js';
export type { LinkConfig } from './monitor/session-shadow.js';
export { hostOf, makeAlert, portOf } from './monitor/types.js';
export type {
  Alert, FlowDirection, Observation, ObservedApdu, ObservedError, Severity,
} from './monitor/types.js';
export { VALIDITY_RULES, validityAlerts } from './monitor/validity.js';
export { AccessRoleError, AccessRoles, identityOf, isStateChangingCommand } from './station/access-roles.js';
export type {
  AccessGrant, CommandScope, DefaultRole, PeerIdentity, RoleMatch, RoleRule, StationRole,
} from './station/access-roles.js';
export {
  MIN_DEFAULT_CONNECTION_BUDGET, QUEUED_ASDU_COST, QUEUED_OBJECT_COST, defaultConnectionBudget,
  queuedAsduBytes,
} from './station/budget.js';
export type { BudgetExceeded, ConnectionMemory } from './station/budget.js';
export { CommandAuditTrail } from './station/command-audit.js';
export type { CommandAuditTrailOptions } from './station/command-audit.js';
export {
  behaviourOutcome, feedbackValue, isCommandType, sameCommand, staleReason, stationCommandFromObject,
  untimedCommandType,
} from './station/commands.js';
export type {
  BitstringCommand, CommandBehaviour, CommandFeedback, CommandHandler, CommandMode, CommandOutcome,
  CommandPoint, CommandPointConfig, CommandSource, DoubleCommand, RegulatingStepCommand,
  SetpointFloatCommand, SetpointNormalizedCommand, SetpointScaledCommand, SingleCommand, StationCommand,
} from './station/commands.js';
export {
  StationConfigError, parseStationConfig, validateRolesConfig, validateStationConfig,
} from './station/config.js';
export type {
  FilesFileConfig, ListenFileConfig, PointSimulation, Simulation, StationFileConfig,
} from './station/config.js';
export { EventBatch, EventQueue } from './station/event-queue.js';
export type {
  EventQueueOptions, EventQueueStats, OverflowPolicy, StationEvent,
} from './station/event-queue.js';
export { FolderFilesError, folderFiles, isPlainFileName } from './station/file-folder.js';
export type { FolderFileMapping, FolderFilesOptions } from './station/file-folder.js';
export { FileService } from './station/file-service.js';
export type {
  FileProvider, FileReadRequest, FileReceiver, FileServiceHost, FileSessionPort, FileTransferCode,
  FileTransferRecord, FileUploadRequest, StationFile, StationFileOptions,
} from './station/file-service.js';
export { maxObjects, packObjects } from './station/packing.js';
export type { AsduHeader, PackingOptions } from './station/packing.js';
export {
  MONITOR_POINT_TYPES, PointDatabase, PointError, cp24At, cp56At, defaultValue, normalizeQuality,
  normalizeValue, pointKindOf, pointObject, resolvePointTypes,
} from './station/point-database.js';
export type {
  CounterValue, PackedSinglePoints, PointConfig, PointKind, PointQuality, PointUpdate, PointValueMap,
  ProtectionEventValue, ProtectionOutputValue, ProtectionStartValue, StationPoint, StationPointValue,
  StepPosition, TimeTagOptions,
} from './station/point-database.js';
export {
  CATCH_ALL_GROUP, RedundancyConfigError, StationRedundancy, StationRedundancyGroup, validateRedundancy,
} from './station/redundancy-group.js';
export type {
  RedundancyGroupConfig, RedundancyGroupStats, RedundancyMember, RedundancyMode, RedundancyOptions,
  RedundancyStats, StationRedundancyOptions,
} from './station/redundancy-group.js';
export { StationSession, answerKind, mirrorAsdu } from './station/session.js';
export type {
  ClockSyncRequest, IgnoredAnswerKind, ParameterRequest, SessionCounters, SessionHost, SessionSnapshot,
  StationLink,
} from './station/session.js';
export { nextSimulatedValue, startSimulations } from './station/simulator.js';
export type { SimulatorOptions } from './station/simulator.js';
export { ControlledStation, StationError, createStation } from './station/station.js';
export type {
  EndOfInitializationMode, LinkFactory, StationConnection, StationLinkMachine, StationListenOptions,
  StationListener, StationOptions, StationStats, StationTransport, UpdateOptions,
} from './station/station.js';
export {
  AccessRuleError, AddressAllowList, ConnectionGate, ConnectionSlots, normalizeAddress,
} from './transport/access-control.js';
export type {
  AccessControlOptions, ConnectionSlotOptions, GateRefusal, SlotAdmission,
} from './transport/access-control.js';
export { AuditLog, redact } from './transport/audit-log.js';
export type {
  AuditLogOptions, AuditSink, CommandAuditRecord, ConnectionAuditRecord, LinkAuditRecord, SyslogTarget,
} from './transport/audit-log.js';
export {
  ACCESS_REFUSAL_CODES, SecurityEvents, TLS_REFUSAL_CODES, hasForwardSecrecy, tlsSessionInfo,
} from './transport/security-events.js';
export type {
  AccessRefusalCode, ConnectionEndpoints, PeerCertificateInfo, SecurityCode, SecurityEvent,
  SecurityEventListener, TlsRefusalCode, TlsSessionEvent, TlsSessionInfo, TlsSessionListener,
} from './transport/security-events.js';
export {
  DEFAULT_MAX_WRITE_BUFFER, TcpConnectTimeoutError, bindLink, connectTcp, describePeer,
  describeStreamError, listenTcp,
} from './transport/tcp-link.js';
export type {
  AcceptedConnection, BindLinkOptions, ConnectTcpOptions, ListenTcpOptions, StreamLinkEvents,
  TcpLinkServer,
} from './transport/tcp-link.js';
export {
  DEFAULT_TLS_CIPHERS, DEFAULT_TLS_PORT, TLS12_SUITES, TLS13_SUITES, TlsConfigError, checkKeyStrength,
  keyStrength, loadCrls, normalizeFingerprint, resolveTlsConfig, splitPemCertificates, tlsClientOptions,
  tlsServerOptions, validateCiphers,
} from './transport/tls-config.js';
export type {
  MinKeyBits, PemSource, ResolvedTlsConfig, TlsConfig, TlsVersion,
} from './transport/tls-config.js';
export {
  TlsRefusedError, TlsSecurity, classifyTlsCode, connectTls, describeCertificate, endpointsOf,
  peerCertificateOf, purposeReason, sessionWarning, subjectMatches, tlsAlertName,
} from './transport/tls-verify.js';
export type {
  ConnectTlsOptions, TlsClassification, TlsFailureContext, TlsSecurityOptions, TlsVerdict,
} from './transport/tls-verify.js';
export { analyzeCaptureForView, captureApduHex } from './web/capture-view.js';
export type { CaptureApduRow, CaptureView, CaptureViewOptions } from './web/capture-view.js';
export { decodeAnswer, layerOf, parseHexText, rowFromPointValue, rowFromStationPoint } from './web/model.js';
export type { AlertRow, CommandRow, ConnectionRow, DecodeAnswer, FieldLayer, PointRow } from './web/model.js';
export { WorkbenchError, isLoopback, parseUiAddress, startWorkbench } from './web/server.js';
export type { CommandRequest, Workbench, WorkbenchOptions } from './web/server.js';
export {
  FLEET_ENVELOPE_VERSION, FLEET_KINDS, FleetEnvelopeError, FleetNameError, checkFleetName, decodeEnvelope,
  encodeEnvelope, makeEnvelope, mqttTopic, natsSubject,
} from './fleet/envelope.js';
export type { FleetEnvelope, FleetKind } from './fleet/envelope.js';
export { FleetUrlError, parseBrokerUrl } from './fleet/broker-url.js';
export type { BrokerUrl } from './fleet/broker-url.js';
export { FleetBufferError } from './fleet/disk-buffer.js';
export { DEFAULT_BUFFER_BYTES, FleetPublisher } from './fleet/publisher.js';
export type { FleetHealth, FleetPublisherOptions } from './fleet/publisher.js';
export type { FleetTransport, TransportOptions } from './fleet/transports.js';
