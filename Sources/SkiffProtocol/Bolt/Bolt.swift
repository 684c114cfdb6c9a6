/// SOFA Bolt wire constants, shared by `BoltCodec` (protocol code 1) and `BoltV2Codec` (protocol code 2).
///
/// Values are sofa-bolt's (`RpcProtocol`, `RpcProtocolV2`, `RpcCommandType`, `CommandCode`, `ResponseStatus`) as MOSN
/// uses them (`pkg/protocol/xprotocol/bolt/types.go`, `boltv2/types.go`).
public enum Bolt {
    /// The first byte of every frame.
    public enum ProtocolCode {
        public static let v1: UInt8 = 0x01
        public static let v2: UInt8 = 0x02
    }

    /// The `type` byte.
    public enum CommandType {
        public static let response: UInt8 = 0
        public static let request: UInt8 = 1
        public static let oneway: UInt8 = 2
    }

    /// The `cmdcode` field.
    public enum CommandCode {
        public static let heartbeat: UInt16 = 0
        public static let request: UInt16 = 1
        public static let response: UInt16 = 2
        /// Control codes start at 100; MOSN's `CmdCodeGoAway`.
        public static let goAway: UInt16 = 100
    }

    /// The `respstatus` field of responses (sofa-bolt `ResponseStatus.getValue()`; 0x0009 is followed by 0x0010).
    public enum ResponseStatus {
        public static let success: UInt16 = 0x0000
        public static let error: UInt16 = 0x0001
        public static let serverException: UInt16 = 0x0002
        public static let unknown: UInt16 = 0x0003
        public static let serverThreadpoolBusy: UInt16 = 0x0004
        public static let errorComm: UInt16 = 0x0005
        public static let noProcessor: UInt16 = 0x0006
        public static let timeout: UInt16 = 0x0007
        public static let clientSendError: UInt16 = 0x0008
        public static let codecException: UInt16 = 0x0009
        public static let connectionClosed: UInt16 = 0x0010
        public static let serverSerialException: UInt16 = 0x0011
        public static let serverDeserialException: UInt16 = 0x0012
    }

    /// The `ver2` (command version) byte; sofa-bolt and MOSN only ever write 1.
    public static let commandVersion: UInt8 = 1
    /// The `codec` byte MOSN writes when it has no request to echo (sofa-bolt's hessian2 serializer id).
    public static let hessian2Codec: UInt8 = 1
    /// Bolt v2 `ver1` values: 1 has no CRC; 2 carries a trailing CRC32 when switch bit 0 is on.
    public static let v2Version1: UInt8 = 1
    public static let v2Version2: UInt8 = 2
    /// Bolt v2 switch bit 0 (`ProtocolSwitch.CRC_SWITCH_INDEX`).
    public static let crcSwitch: UInt8 = 0x01

    /// The proxy's answer for each reason, as MOSN maps its hijack codes (`bolt/protocol.go` `Mapping`) except for
    /// `upstreamReset`, where MOSN answers NO_PROCESSOR (via `NoHealthUpstreamCode`) and we say what happened:
    ///
    /// | reason          | status                       | MOSN source                                      |
    /// |-----------------|------------------------------|--------------------------------------------------|
    /// | `.timeout`      | TIMEOUT 0x0007               | `TimeoutExceptionCode` → `ResponseStatusTimeout` |
    /// | `.noUpstream`   | NO_PROCESSOR 0x0006          | `RouterUnavailableCode`, `NoHealthUpstreamCode`  |
    /// | `.overflow`     | SERVER_THREADPOOL_BUSY 0x0004| `UpstreamOverFlowCode`                           |
    /// | `.codec`        | CODEC_EXCEPTION 0x0009       | `CodecExceptionCode`                             |
    /// | `.upstreamReset`| CONNECTION_CLOSED 0x0010     | (MOSN: NO_PROCESSOR)                             |
    public static func status(for error: RPCErrorKind) -> UInt16 {
        switch error {
        case .timeout: ResponseStatus.timeout
        case .noUpstream: ResponseStatus.noProcessor
        case .overflow: ResponseStatus.serverThreadpoolBusy
        case .codec: ResponseStatus.codecException
        case .upstreamReset: ResponseStatus.connectionClosed
        }
    }
}
