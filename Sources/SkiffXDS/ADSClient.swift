import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SkiffConfig
import SkiffXDSProto
import Synchronization

/// The connection to the control plane: one ADS stream at a time over gRPC (HTTP/2, plaintext) to the ADS cluster's
/// endpoint; what arrives goes to the `ADSSession`, what it answers goes back. A stream that ends or fails is
/// reopened after a jittered exponential back-off; meanwhile the last applied config keeps serving.
///
/// Threads: `start` and `stop` from any thread. The stream runs as a Swift task on the concurrency pool; the
/// transport has its own NIO event loop thread, created by `start` and shut down by `stop`. Nothing of this exists
/// unless the config has `dynamic_resources`.
public final class ADSClient: Sendable {
    public let session: ADSSession
    public let endpoint: SocketAddressSpec
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let tickInterval: Duration
    private let initialBackoff: XDSBackoff

    public init(
        session: ADSSession, endpoint: SocketAddressSpec, backoff: XDSBackoff = XDSBackoff(),
        tickInterval: Duration = .milliseconds(200)
    ) {
        self.session = session
        self.endpoint = endpoint
        self.initialBackoff = backoff
        self.tickInterval = tickInterval
    }

    /// The ADS endpoint of `config`: the first host of its ADS cluster (the decoder checked it exists).
    public static func endpoint(of config: SkiffConfiguration) -> SocketAddressSpec? {
        guard let xds = config.xds else { return nil }
        return config.clusters.first { $0.name == xds.adsCluster }?.hosts.first?.address
    }

    public func start() {
        let stream = Task.detached { [self] in await run() }
        let ticks = Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: tickInterval)
                session.tick()
            }
        }
        tasks.withLock { $0 += [stream, ticks] }
    }

    /// Ends the stream and the retries without waiting for them (the process is about to exit).
    public func cancel() {
        for t in tasks.withLock({ $0 }) { t.cancel() }
    }

    private func run() async {
        var backoff = initialBackoff
        while !Task.isCancelled {
            let (gotResponse, reason) = await oneStream()
            session.streamEnded(reason: reason)
            if Task.isCancelled { break }
            if gotResponse { backoff.reset() }
            try? await Task.sleep(for: backoff.next())
        }
    }

    /// Opens one stream and serves it until it ends: whether any response arrived, and why it ended.
    private func oneStream() async -> (Bool, String) {
        let received = Atomic<Bool>(false)
        do {
            let target: any ResolvableTarget =
                endpoint.host.contains(":")
                ? .ipv6(address: endpoint.host, port: endpoint.port) : .ipv4(address: endpoint.host, port: endpoint.port)
            let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let ads = Envoy_Service_Discovery_V3_AggregatedDiscoveryService.Client(wrapping: client)
                let (outbound, queue) = AsyncStream.makeStream(of: Envoy_Service_Discovery_V3_DiscoveryRequest.self)
                var options = CallOptions.defaults
                options.waitForReady = false
                try await ads.streamAggregatedResources(
                    options: options,
                    requestProducer: { [session] writer in
                        for r in session.streamStarted() { try await writer.write(r) }
                        for await r in outbound { try await writer.write(r) }
                    },
                    onResponse: { [session] response in
                        defer { queue.finish() }
                        for try await message in response.messages {
                            received.store(true, ordering: .relaxed)
                            for r in session.handle(message) { queue.yield(r) }
                        }
                    })
            }
            return (received.load(ordering: .relaxed), "the control plane ended the stream")
        } catch is CancellationError {
            return (received.load(ordering: .relaxed), "stopped")
        } catch let error as RPCError {
            return (received.load(ordering: .relaxed), "\(error.code): \(error.message)")
        } catch {
            return (received.load(ordering: .relaxed), "\(error)")
        }
    }
}
