import SkiffTestSupport
import Testing

/// The shipped mTLS pair validates as the README says: `skiff validate` run from the repository root, where the
/// configs' relative certificate paths (`Tests/Fixtures/tls/...`) resolve; from elsewhere each file is named.
@Suite struct TLSConfigValidateBinaryTests {
    /// `skiff validate -c CONFIG` run with `directory` as the working directory.
    func validate(_ config: String, from directory: String) throws -> (status: Int32, output: String) {
        let command = "cd '\(directory)' && exec '\(SkiffProcess.binaryPath)' validate -c '\(config)'"
        return try SkiffProcess.runCommand("/bin/sh", ["-c", command])
    }

    @Test func shippedTLSConfigsValidateFromTheRepositoryRoot() throws {
        for name in ["tls-server.json", "tls-client.json"] {
            let r = try validate("configs/\(name)", from: SkiffProcess.packageRoot)
            #expect(r.status == 0, "\(name): \(r.output)")
            #expect(r.output == "ok: 1 listener (netpoll 1), 1 cluster, 1 host, 1 router\n", "\(name): \(r.output)")
        }
    }

    @Test func relativeCertificatePathsAreReadFromTheWorkingDirectory() throws {
        let r = try validate("\(SkiffProcess.packageRoot)/configs/tls-client.json", from: "/")
        #expect(r.status == 1)
        for field in ["ca_cert", "cert_chain", "private_key"] {
            #expect(
                r.output.contains(
                    "cluster_manager.clusters[0].tls_context.\(field): cannot read \"Tests/Fixtures/tls/"),
                "\(r.output)")
        }
        #expect(r.output.contains("a relative path is read from the working directory, /)"), "\(r.output)")
    }
}
