import Glibc
import SkiffTestSupport
import Testing

/// MOSN's Envoy v3 bootstrap (issue 17's example) is a valid config, and until the xDS client is built both
/// `skiff validate` and `skiff start` refuse to serve it, saying why (never silently ignoring `dynamic_resources`).
@Suite struct XDSBootstrapBinaryTests {
    @Test func validateAndStartSayTheXDSClientIsNotBuiltYet() throws {
        // Issue 17's example, as written.
        let path = SkiffProcess.packageRoot + "/Tests/Fixtures/xds/skiff-bootstrap.json"
        let v = try SkiffProcess.run(["validate", "-c", path])
        #expect(v.status == 1, "\(v.output)")
        #expect(v.output.contains("dynamic_resources: the xDS client is not in this build yet"), "\(v.output)")
        let s = try SkiffProcess.run(["start", "-c", path, "--control-socket", "/tmp/skiff-test-\(getpid())-xds.sock"])
        #expect(s.status != 0, "\(s.output)")
        #expect(s.output.contains("dynamic_resources: the xDS client is not in this build yet"), "\(s.output)")
    }
}
