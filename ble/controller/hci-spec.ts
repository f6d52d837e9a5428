/**
 * The HCI facts the virtual controller speaks (Bluetooth Core 5.x, Vol 4 Part E), defined
 * once: packet indicators, opcodes, event codes, status codes.
 */

/** H4 packet indicators (the first byte of every packet on the socket). */
export const H4 = {
  command: 0x01,
  acl: 0x02,
  sco: 0x03,
  event: 0x04,
} as const;

/** Opcode = OGF << 10 | OCF. */
export function opcode(ogf: number, ocf: number): number {
  return (ogf << 10) | ocf;
}

export const Op = {
  disconnect: opcode(0x01, 0x0006),
  readRemoteVersion: opcode(0x01, 0x001d),
  setEventMask: opcode(0x03, 0x0001),
  reset: opcode(0x03, 0x0003),
  setEventMaskPage2: opcode(0x03, 0x0063),
  readLeHostSupported: opcode(0x03, 0x006c),
  writeLeHostSupported: opcode(0x03, 0x006d),
  readLocalVersion: opcode(0x04, 0x0001),
  readLocalCommands: opcode(0x04, 0x0002),
  readLocalFeatures: opcode(0x04, 0x0003),
  readBufferSize: opcode(0x04, 0x0005),
  readBdAddr: opcode(0x04, 0x0009),
  readRssi: opcode(0x05, 0x0005),
  leSetEventMask: opcode(0x08, 0x0001),
  leReadBufferSize: opcode(0x08, 0x0002),
  leReadLocalFeatures: opcode(0x08, 0x0003),
  leSetRandomAddress: opcode(0x08, 0x0005),
  leSetAdvParams: opcode(0x08, 0x0006),
  leReadAdvTxPower: opcode(0x08, 0x0007),
  leSetAdvData: opcode(0x08, 0x0008),
  leSetScanRspData: opcode(0x08, 0x0009),
  leSetAdvEnable: opcode(0x08, 0x000a),
  leSetScanParams: opcode(0x08, 0x000b),
  leSetScanEnable: opcode(0x08, 0x000c),
  leCreateConn: opcode(0x08, 0x000d),
  leCreateConnCancel: opcode(0x08, 0x000e),
  leReadAcceptListSize: opcode(0x08, 0x000f),
  leClearAcceptList: opcode(0x08, 0x0010),
  leConnUpdate: opcode(0x08, 0x0013),
  leReadRemoteFeatures: opcode(0x08, 0x0016),
  leLtkNegReply: opcode(0x08, 0x001b),
  leReadSupportedStates: opcode(0x08, 0x001c),
} as const;

export const Evt = {
  disconnectionComplete: 0x05,
  readRemoteVersionComplete: 0x0c,
  commandComplete: 0x0e,
  commandStatus: 0x0f,
  hardwareError: 0x10,
  numberOfCompletedPackets: 0x13,
  leMeta: 0x3e,
} as const;

export const LeSubevent = {
  connectionComplete: 0x01,
  advertisingReport: 0x02,
  connectionUpdateComplete: 0x03,
  readRemoteFeaturesComplete: 0x04,
} as const;

/** Status / error codes (Core Vol 1 Part F). */
export const Status = {
  success: 0x00,
  unknownCommand: 0x01,
  unknownConnectionId: 0x02,
  hardwareFailure: 0x03,
  connectionTimeout: 0x08,
  connectionLimitExceeded: 0x09,
  commandDisallowed: 0x0c,
  invalidParameters: 0x12,
  remoteUserTerminated: 0x13,
  localHostTerminated: 0x16,
  unsupportedFeatureOrParameter: 0x11,
} as const;

/** Advertising PDU / report event types (LE Advertising Report, Vol 4 Part E 7.7.65.2). */
export const AdvType = {
  advInd: 0x00,
  advDirectInd: 0x01,
  advScanInd: 0x02,
  advNonconnInd: 0x03,
  scanRsp: 0x04,
} as const;

/** ACL packet boundary flags. */
export const AclBoundary = {
  firstNonFlushable: 0x0,
  continuing: 0x1,
  firstFlushable: 0x2,
} as const;

/** Hardware Error code we send for H4 framing the controller cannot parse. */
export const HARDWARE_ERROR_H4_FRAMING = 0x01;

/** Octet and bit of each command in the Supported Commands field (Core Vol 4 Part E 6.27). */
const SUPPORTED_COMMAND_BITS = new Map<number, [number, number]>([
  [Op.disconnect, [0, 5]],
  [Op.readRemoteVersion, [2, 7]],
  [Op.setEventMask, [5, 6]],
  [Op.reset, [5, 7]],
  [Op.setEventMaskPage2, [22, 2]],
  [Op.readLocalVersion, [14, 3]],
  [Op.readLocalFeatures, [14, 5]],
  [Op.readBufferSize, [14, 7]],
  [Op.readBdAddr, [15, 1]],
  [Op.readRssi, [15, 5]],
  [Op.readLeHostSupported, [24, 5]],
  [Op.writeLeHostSupported, [24, 6]],
  [Op.leSetEventMask, [25, 0]],
  [Op.leReadBufferSize, [25, 1]],
  [Op.leReadLocalFeatures, [25, 2]],
  [Op.leSetRandomAddress, [25, 4]],
  [Op.leSetAdvParams, [25, 5]],
  [Op.leReadAdvTxPower, [25, 6]],
  [Op.leSetAdvData, [25, 7]],
  [Op.leSetScanRspData, [26, 0]],
  [Op.leSetAdvEnable, [26, 1]],
  [Op.leSetScanParams, [26, 2]],
  [Op.leSetScanEnable, [26, 3]],
  [Op.leCreateConn, [26, 4]],
  [Op.leCreateConnCancel, [26, 5]],
  [Op.leReadAcceptListSize, [26, 6]],
  [Op.leClearAcceptList, [26, 7]],
  [Op.leConnUpdate, [27, 2]],
  [Op.leReadRemoteFeatures, [27, 5]],
  [Op.leLtkNegReply, [28, 2]],
  [Op.leReadSupportedStates, [28, 3]],
]);

/** The 64-octet Supported Commands field for the opcodes a controller answers. */
export function supportedCommandsField(opcodes: Iterable<number>): Buffer {
  const field = Buffer.alloc(64);
  for (const op of opcodes) {
    const position = SUPPORTED_COMMAND_BITS.get(op);
    if (position) field[position[0]]! |= 1 << position[1];
  }
  return field;
}
