/// RPC statuses as HTTP statuses, for access logs' `response_code` (MOSN prints an HTTP code for every protocol).
/// Success is 200; the rest follow what each status says (docs/access-logs.md has the tables).
extension BoltCodecFamily {
    public static func errorStatus(for error: RPCErrorKind) -> Int { Int(Bolt.status(for: error)) }

    /// SUCCESS 200; SERVER_THREADPOOL_BUSY 503; TIMEOUT 504; NO_PROCESSOR 404; CODEC_EXCEPTION and
    /// SERVER_DESERIAL_EXCEPTION 400; ERROR_COMM, CLIENT_SEND_ERROR and CONNECTION_CLOSED 502; everything else
    /// (ERROR, SERVER_EXCEPTION, UNKNOWN, SERVER_SERIAL_EXCEPTION, unknown codes) 500.
    public static func httpStatus(forStatus status: Int) -> Int {
        switch UInt16(truncatingIfNeeded: status) {
        case Bolt.ResponseStatus.success: 200
        case Bolt.ResponseStatus.serverThreadpoolBusy: 503
        case Bolt.ResponseStatus.timeout: 504
        case Bolt.ResponseStatus.noProcessor: 404
        case Bolt.ResponseStatus.codecException, Bolt.ResponseStatus.serverDeserialException: 400
        case Bolt.ResponseStatus.errorComm, Bolt.ResponseStatus.clientSendError, Bolt.ResponseStatus.connectionClosed:
            502
        default: 500
        }
    }
}

extension DubboCodec {
    public static func errorStatus(for error: RPCErrorKind) -> Int { Int(Dubbo.status(for: error)) }

    /// OK 200; CLIENT_TIMEOUT and SERVER_TIMEOUT 504; BAD_REQUEST and CLIENT_ERROR 400; SERVICE_NOT_FOUND 404;
    /// SERVER_THREADPOOL_EXHAUSTED_ERROR 503; CHANNEL_INACTIVE and BAD_RESPONSE 502; SERVICE_ERROR, SERVER_ERROR
    /// and unknown codes 500.
    public static func httpStatus(forStatus status: Int) -> Int {
        switch UInt8(truncatingIfNeeded: status) {
        case Dubbo.Status.ok: 200
        case Dubbo.Status.clientTimeout, Dubbo.Status.serverTimeout: 504
        case Dubbo.Status.badRequest, Dubbo.Status.clientError: 400
        case Dubbo.Status.serviceNotFound: 404
        case Dubbo.Status.serverThreadpoolExhaustedError: 503
        case Dubbo.Status.channelInactive, Dubbo.Status.badResponse: 502
        default: 500
        }
    }
}
