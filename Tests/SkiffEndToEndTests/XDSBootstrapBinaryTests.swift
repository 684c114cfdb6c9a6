import Glibc
import SkiffTestSupport
import Testing

/// MOSN's Envoy v3 bootstrap (issue 17's example) is a valid config, and until the xDS client is built both
/// `skiff validate` and `skiff start` refuse to serve it, saying why (never silently ignoring `dynamic_resources`).
@Suite struct XDSBootstrapBinaryTests {
    static let example = """
        {"node": {"id": "skiff-1", "cluster": "web"},
         "dynamic_resources": {"ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
             "grpc_services": [{"envoy_grpc": {"cluster_name": "xds"}}]},
           "lds_config": {"ads": {}, "resource_api_version": "V3"}, "cds_config": {"ads": {}, "resource_api_version": "V3"}},
         "static_resources": {"clusters": [{"name": "xds", "type": "STATIC", "connect_timeout": "1s",
           "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
             "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
             "explicit_http_config": {"http2_protocol_options": {}}}},
           "load_assignment": {"cluster_name": "xds", "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
             {"socket_address": {"address": "127.0.0.1", "port_value": 15010}}}}]}]}}]}}
        """

    @Test func validateAndStartSayTheXDSClientIsNotBuiltYet() throws {
        let path = try writeTempFile(Self.example)
        defer { unlink(path) }
        let v = try SkiffProcess.run(["validate", "-c", path])
        #expect(v.status == 1, "\(v.output)")
        #expect(v.output.contains("dynamic_resources: the xDS client is not in this build yet"), "\(v.output)")
        let s = try SkiffProcess.run(["start", "-c", path, "--control-socket", "/tmp/skiff-test-\(getpid())-xds.sock"])
        #expect(s.status != 0, "\(s.output)")
        #expect(s.output.contains("dynamic_resources: the xDS client is not in this build yet"), "\(s.output)")
    }
}
