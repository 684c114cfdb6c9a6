import SkiffXDSProto

/// `ConfigSource` of RDS and EDS subscriptions: it must be ADS (the one stream Skiff's client opens), with resource
/// API version V3 (or AUTO). `initial_fetch_timeout` is accepted: the bootstrap's applies to every subscription.
/// Any thread.
extension XDSContext {
    func checkADS(_ s: Envoy_Config_Core_V3_ConfigSource, at path: String) throws(XDSRejection) {
        try checkUnknown(s, at: path)
        switch s.configSourceSpecifier {
        case .ads(let a)?:
            try checkUnknown(a, at: path.dot("ads"))
        case .apiConfigSource?:
            throw reject(path.dot("api_config_source"), "not supported by skiff (only ads: skiff's client speaks ADS)")
        case .self_p?:
            throw reject(path.dot("self"), "not supported by skiff (only ads: skiff's client speaks ADS)")
        case nil:
            throw reject(path.dot("ads"), "required (skiff's client speaks ADS only)")
        }
        switch s.resourceApiVersion {
        case .auto, .v3: break
        case .v2: throw reject(path.dot("resource_api_version"), "V2 is not supported (V3 only)")
        case .UNRECOGNIZED(let n): throw reject(path.dot("resource_api_version"), "unknown version \(n)")
        }
        if s.hasInitialFetchTimeout { _ = try duration(s.initialFetchTimeout, at: path.dot("initial_fetch_timeout")) }
    }
}
