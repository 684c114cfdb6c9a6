import SkiffNet

/// When an endpoint's certificates expire, as telemetry and `/metrics` show it. Reads immutable contexts; any thread.
extension TLSServerEndpoint {
    /// The earliest `notAfter` among the leaf certificates of its current contexts (seconds since the epoch).
    public var earliestLeafExpiry: Int64? { contexts.all.compactMap(\.leafNotAfter).min() }
}

extension TLSClientEndpoint {
    /// Its client certificate's `notAfter` (seconds since the epoch); nil when it presents none.
    public var earliestLeafExpiry: Int64? { context.leafNotAfter }
}
