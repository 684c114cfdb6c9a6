import Glibc
import SkiffTestSupport
import Testing

/// MOSN's Dubbo samples (`configs/mosn_dubbo_client_sample.json` and `configs/mosn_dubbo_server_sample.json`, byte
/// for byte mosn/mosn's examples/codes/dubbo/{client,server}_config.json at 707d635) run unchanged apart from their
/// addresses, chained as the sample chains them: a Dubbo consumer -> client sidecar -> server sidecar -> provider. Both
/// turn tracing on with the SOFATracer driver and no `log_path`, so each writes digest lines under
/// `$HOME/logs/tracelog/mosn`; their listeners have no `type`, so the lines are client spans.
@Suite(.serialized) struct MOSNDubboSampleBinaryTests {
    @Test func clientAndServerSamplesRunChainedWithTracing() throws {
        let provider = try RPCTestServer(kind: .dubbo, name: "provider")
        defer { provider.stop() }
        let home = makeTempDirectory("dubbo-home")
        defer { removeTree(home) }
        let (clientPort, serverPort) = (freePort(), freePort())
        let server = try shippedConfig("mosn_dubbo_server_sample.json")
            .replacing("127.0.0.1:2046", with: "127.0.0.1:\(serverPort)")
            .replacing("127.0.0.1:20880", with: "127.0.0.1:\(provider.port)")
        let client = try shippedConfig("mosn_dubbo_client_sample.json")
            .replacing("0.0.0.0:2045", with: "127.0.0.1:\(clientPort)")
            .replacing("127.0.0.1:2046", with: "127.0.0.1:\(serverPort)")
        let (serverPath, clientPath) = (try writeTempFile(server), try writeTempFile(client))
        defer {
            unlink(serverPath)
            unlink(clientPath)
        }
        let serverSidecar = try SkiffProcess(["start", "-c", serverPath], environment: ["HOME": home])
        defer { serverSidecar.stop() }
        let clientSidecar = try SkiffProcess(["start", "-c", clientPath], environment: ["HOME": home])
        defer { clientSidecar.stop() }
        #expect(serverSidecar.waitForOutput("started"), "\(serverSidecar.output)")
        #expect(clientSidecar.waitForOutput("started"), "\(clientSidecar.output)")

        let n = 20
        let got = try rpcClient(
            port: clientPort, count: n, window: 4,
            frame: { i in
                RPCFrames.dubboRequest(
                    id: UInt64(i), service: "samples.DemoService", method: "sayHello",
                    payload: "dubbo-\(i)")
            },
            responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
        #expect(got.count == n)
        for (id, frame) in got {
            let answer = RPCFrames.parseDubbo(frame)
            #expect(answer?.status == 20, "request \(id)")
            // The provider answers with its name (and the id it saw, the server sidecar's own).
            #expect(answer.map { String(decoding: $0.body, as: UTF8.self).contains("provider:") } == true, "request \(id)")
        }
        #expect(provider.requests.load(ordering: .relaxed) == n)

        // One client span per request in each sidecar, in SOFATracer's default directory under $HOME.
        let digest = "\(home)/logs/tracelog/mosn/rpc-client-digest.log"
        func lines() -> [String] {
            String(decoding: (try? readFile(digest)) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
        }
        #expect(waitUntil(seconds: 5) { lines().count == 2 * n }, "\(lines().count) lines")
        let all = lines()
        #expect(all.allSatisfy { $0.contains(#""span.kind":"client""#) && $0.contains(#""protocol":"dubbo""#) })
        #expect(all.allSatisfy { $0.contains(#""service":"samples.DemoService","method":"sayHello""#) })
        #expect(all.allSatisfy { $0.contains(#""result.code":"00""#) })
        let toServer = all.filter { $0.contains(#""remote.ip":"127.0.0.1:\#(serverPort)""#) }
        let toProvider = all.filter { $0.contains(#""remote.ip":"127.0.0.1:\#(provider.port)""#) }
        #expect(toServer.count == n && toProvider.count == n, "\(all.prefix(2))")
    }
}
