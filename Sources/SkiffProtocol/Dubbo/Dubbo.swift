/// Dubbo 2 wire constants (Apache Dubbo `ExchangeCodec` and `Response`; MOSN `pkg/protocol/xprotocol/dubbo/types.go`).
///
/// ```text
/// magic 0xdabb (2) | flag (1) | status (1) | id (8) | body length (4) | body
/// flag: 0x80 request, 0x40 two-way, 0x20 event, low 5 bits serialization id (2 = hessian2)
/// ```
public enum Dubbo {
    public static let headerLength = 16
    public static let magicHigh: UInt8 = 0xda
    public static let magicLow: UInt8 = 0xbb

    public enum Flag {
        public static let request: UInt8 = 0x80
        public static let twoWay: UInt8 = 0x40
        public static let event: UInt8 = 0x20
        public static let serializationMask: UInt8 = 0x1f
    }

    /// Serialization ids (Dubbo `Constants`); the codec reads request bodies only for hessian2.
    public static let hessian2Serialization: UInt8 = 2

    /// The status byte of responses (Dubbo `org.apache.dubbo.remoting.exchange.Response`).
    public enum Status {
        public static let ok: UInt8 = 20
        public static let clientTimeout: UInt8 = 30
        public static let serverTimeout: UInt8 = 31
        public static let channelInactive: UInt8 = 35
        public static let badRequest: UInt8 = 40
        public static let badResponse: UInt8 = 50
        public static let serviceNotFound: UInt8 = 60
        public static let serviceError: UInt8 = 70
        public static let serverError: UInt8 = 80
        public static let clientError: UInt8 = 90
        public static let serverThreadpoolExhaustedError: UInt8 = 100
    }

    /// The proxy's answer for each reason, in Dubbo's own terms (MOSN's `dubboMosnStatusMap` differs where noted):
    ///
    /// - `.timeout`: SERVER_TIMEOUT 31. The request was sent upstream; Dubbo's `DefaultFuture` reports 31 then and
    ///   30 only for requests never sent (MOSN: CLIENT_TIMEOUT 30).
    /// - `.noUpstream`: SERVICE_NOT_FOUND 60, as MOSN for `RouterUnavailableCode` and `NoHealthUpstreamCode`.
    /// - `.overflow`: SERVER_THREADPOOL_EXHAUSTED_ERROR 100, Dubbo's overload answer (MOSN: BAD_REQUEST 40).
    /// - `.codec`: BAD_REQUEST 40, what a Dubbo server answers a request it cannot decode (MOSN: SERVICE_ERROR 70).
    /// - `.upstreamReset`: SERVER_ERROR 80 (MOSN: SERVICE_NOT_FOUND 60, via `NoHealthUpstreamCode`).
    public static func status(for error: RPCErrorKind) -> UInt8 {
        switch error {
        case .timeout: Status.serverTimeout
        case .noUpstream: Status.serviceNotFound
        case .overflow: Status.serverThreadpoolExhaustedError
        case .codec: Status.badRequest
        case .upstreamReset: Status.serverError
        }
    }
}
