import SkiffConfig
import SkiffXDSProto
import Testing

@testable import SkiffXDS

/// The state-of-the-world protocol without a network: what the session ACKs, NACKs and subscribes to, what it hands
/// the engine, and when a listener binds.
@Suite struct ADSSessionTests {
    typealias F = SessionFixture

    @Test func firstRequestsCarryTheNodeOnceAndSubscribeToWildcards() {
        let engine = RecordingEngine()
        let s = engine.session()
        let first = s.streamStarted()
        #expect(first.map(\.typeURL) == [XDSResourceType.cluster.typeURL, XDSResourceType.listener.typeURL])
        #expect(first[0].hasNode && first[0].node.id == "skiff-1" && first[0].node.cluster == "web")
        #expect(first[0].node.userAgentName == "skiff")
        #expect(!first[1].hasNode)
        #expect(first.allSatisfy { $0.resourceNames.isEmpty && $0.versionInfo.isEmpty && $0.responseNonce.isEmpty })
        #expect(engine.events.withLock { $0 } == [.connected(controlPlane: "127.0.0.1:15010")])
    }

    @Test func clustersThenEndpointsThenListenerThenRoutes() throws {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.streamStarted()

        // CDS: an EDS cluster is applied with no hosts yet; the ACK carries version and nonce; EDS is subscribed.
        let cds = s.handle(F.response(.cluster, version: "c1", nonce: "n1", [F.edsCluster("svc")]))
        #expect(cds.count == 2)
        #expect(cds[0].typeURL == XDSResourceType.cluster.typeURL && cds[0].versionInfo == "c1" && cds[0].responseNonce == "n1")
        #expect(!cds[0].hasErrorDetail)
        #expect(cds[1].typeURL == XDSResourceType.endpoint.typeURL && cds[1].resourceNames == ["svc"])
        #expect(engine.last?.clusters.first { $0.name == "svc" }?.hosts == [])

        // EDS: the hosts arrive.
        let eds = s.handle(F.response(.endpoint, version: "e1", nonce: "n2", [F.assignment("svc", ports: [9001, 9002])]))
        #expect(eds.map(\.versionInfo) == ["e1"] && eds[0].resourceNames == ["svc"])
        #expect(engine.last?.clusters.first { $0.name == "svc" }?.hosts.map(\.address.port) == [9001, 9002])

        // LDS: the listener waits for its routes (nothing new to apply); RDS is subscribed.
        let before = engine.count
        let lds = s.handle(F.response(.listener, version: "l1", nonce: "n3", [F.rdsListener("in", port: 18080, routes: "r")]))
        #expect(lds.count == 2 && lds[1].typeURL == XDSResourceType.route.typeURL && lds[1].resourceNames == ["r"])
        #expect(engine.count == before)
        #expect(s.status.waiting["in"]?.contains("route configuration r") == true)

        // RDS: the listener binds with its routes, in the server "xds".
        _ = s.handle(F.response(.route, version: "r1", nonce: "n4", [F.routes("r", cluster: "svc")]))
        let server = try #require(engine.last?.servers.first { $0.name == XDSSnapshotAssembler.serverName })
        #expect(server.listeners.map(\.name) == ["in"] && server.routers.map(\.name) == ["r"])
        #expect(s.status.waiting.isEmpty)
        #expect(s.status[.route].version == "r1" && s.status[.route].acks == 1 && s.status[.listener].resources == 1)
    }

    @Test func invalidRegexIsNackedAndTheOldRoutesStay() throws {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.streamStarted()
        _ = s.handle(F.response(.cluster, version: "1", nonce: "a", [F.edsCluster("svc")]))
        _ = s.handle(F.response(.endpoint, version: "1", nonce: "b", [F.assignment("svc", ports: [9001])]))
        _ = s.handle(F.response(.listener, version: "1", nonce: "c", [F.rdsListener("in", port: 18080, routes: "r")]))
        _ = s.handle(F.response(.route, version: "1", nonce: "d", [F.routes("r", cluster: "svc", prefix: "/old")]))
        let applied = engine.count

        let nack = s.handle(F.response(.route, version: "2", nonce: "e", [F.routes("r", cluster: "svc", regex: "(unclosed")]))
        #expect(nack.count == 1)
        #expect(nack[0].versionInfo == "1" && nack[0].responseNonce == "e" && nack[0].hasErrorDetail)
        #expect(nack[0].errorDetail.code == 3)
        #expect(nack[0].errorDetail.message.hasPrefix("route_configuration \"r\": "), "\(nack[0].errorDetail.message)")
        #expect(nack[0].errorDetail.message.contains("safe_regex"))
        #expect(engine.count == applied)
        #expect(s.status[.route].version == "1" && s.status[.route].nacks == 1 && s.status[.route].lastOutcome == "nack")
        #expect(engine.events.withLock { $0.last } == .nack(type: .route, version: "2", error: nack[0].errorDetail.message))

        // The next good version is ACKed and applied.
        let ack = s.handle(F.response(.route, version: "3", nonce: "f", [F.routes("r", cluster: "svc", prefix: "/new")]))
        #expect(ack.map(\.versionInfo) == ["3"] && !ack[0].hasErrorDetail)
        #expect(engine.count == applied + 1)
    }

    @Test func aRouteToAnUnknownClusterIsNackedOnceClustersAreKnown() {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.streamStarted()
        _ = s.handle(F.response(.cluster, version: "1", nonce: "a", [F.edsCluster("svc")]))
        _ = s.handle(F.response(.listener, version: "1", nonce: "b", [F.rdsListener("in", port: 18080, routes: "r")]))
        let nack = s.handle(F.response(.route, version: "1", nonce: "c", [F.routes("r", cluster: "nowhere")]))
        #expect(nack.first?.errorDetail.message == #"route_configuration "r": cluster "nowhere" is unknown (neither in CDS nor in the config file)"#)
    }

    @Test func theEnginesRefusalIsANack() {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.streamStarted()
        engine.refusal.withLock { $0 = "listener in: address in use" }
        _ = s.handle(F.response(.cluster, version: "1", nonce: "a", [F.edsCluster("svc")]))
        #expect(s.status[.cluster].nacks == 1)
        #expect(s.status[.cluster].lastError == "snapshot: the engine refused it: listener in: address in use")
        #expect(s.status[.cluster].version == "" && s.status[.cluster].resources == 0)
    }

    @Test func unsubscribedTypeIsNacked() {
        let engine = RecordingEngine()
        let s = engine.session()
        var r = Envoy_Service_Discovery_V3_DiscoveryResponse()
        r.typeURL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
        r.nonce = "x"
        let out = s.handle(r)
        #expect(out.count == 1 && out[0].responseNonce == "x" && out[0].errorDetail.message.contains("not subscribed"))
    }

    @Test func edsDrainingAndUnhealthyReachTheModel() {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.handle(F.response(.cluster, version: "1", nonce: "a", [F.edsCluster("svc")]))
        _ = s.handle(F.response(.endpoint, version: "1", nonce: "b", [F.assignment("svc", ports: [9001], health: "DRAINING")]))
        #expect(engine.last?.clusters.first { $0.name == "svc" }?.hosts.first?.controlPlaneState == .draining)
        _ = s.handle(F.response(.endpoint, version: "2", nonce: "c", [F.assignment("svc", ports: [9001], health: "UNHEALTHY")]))
        #expect(engine.last?.clusters.first { $0.name == "svc" }?.hosts.first?.controlPlaneState == .unhealthy)
    }

    @Test func aListenerBindsAtItsInitialFetchTimeoutWithA404Router() throws {
        var xds = SessionFixture.xds
        xds.initialFetchTimeout = .milliseconds(30)
        let engine = RecordingEngine()
        let s = engine.session(xds: xds)
        _ = s.handle(F.response(.cluster, version: "1", nonce: "a", []))
        _ = s.handle(F.response(.listener, version: "1", nonce: "b", [F.rdsListener("in", port: 18080, routes: "r")]))
        s.tick()
        #expect(s.status.waiting.keys.sorted() == ["in"])
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(40) {}
        s.tick()
        #expect(s.status.waiting.isEmpty)
        let server = try #require(engine.last?.servers.first { $0.name == XDSSnapshotAssembler.serverName })
        #expect(server.listeners.map(\.name) == ["in"] && server.routers.first?.virtualHosts.isEmpty == true)
    }

    @Test func aReconnectSaysWhichVersionsItHas() {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.streamStarted()
        _ = s.handle(F.response(.cluster, version: "c7", nonce: "a", [F.edsCluster("svc")]))
        _ = s.handle(F.response(.endpoint, version: "e3", nonce: "b", [F.assignment("svc", ports: [9001])]))
        s.streamEnded(reason: "unavailable")
        #expect(!s.status.connected && s.status.lastDisconnect == "unavailable")
        let again = s.streamStarted()
        #expect(again.map(\.typeURL) == [XDSResourceType.cluster.typeURL, XDSResourceType.endpoint.typeURL, XDSResourceType.listener.typeURL])
        #expect(again.map(\.versionInfo) == ["c7", "e3", ""])
        #expect(again.allSatisfy { $0.responseNonce.isEmpty })
        #expect(again[1].resourceNames == ["svc"])
        #expect(again[0].hasNode && s.status.connects == 2)
    }

    @Test func aFileReloadKeepsTheControlPlanesResources() throws {
        let engine = RecordingEngine()
        let s = engine.session()
        _ = s.handle(F.response(.cluster, version: "1", nonce: "a", [F.edsCluster("svc")]))
        let file = SkiffConfiguration(
            servers: [], clusters: [ClusterConfig(name: "local", hosts: [HostConfig(address: .init(host: "127.0.0.1", port: 7))])],
            admin: nil)
        let merged = try s.reloadFile(file) { $0 }
        #expect(merged.clusters.map(\.name) == ["local", "svc"])
        // A CDS cluster may not take a file cluster's name.
        #expect(throws: (any Error).self) {
            try s.reloadFile(SkiffConfiguration(servers: [], clusters: [ClusterConfig(name: "svc", hosts: [])], admin: nil)) { $0 }
        }
    }
}

@Suite struct XDSBackoffTests {
    @Test func doublesUpToTheMaximumWithinTheJitter() {
        var b = XDSBackoff(initial: .milliseconds(500), maximum: .seconds(4), jitter: 0.2)
        #expect(b.next(random: 0.5) == .milliseconds(500))
        #expect(b.next(random: 0.5) == .seconds(1))
        #expect(b.next(random: 0) == .milliseconds(1600))  // 2 s, 20 % early
        #expect(b.next(random: 0.5) == .seconds(4))
        #expect(b.next(random: 0.999_999) <= .milliseconds(4800))
        b.reset()
        #expect(b.next(random: 0.5) == .milliseconds(500))
    }
}

/// The file's `tracing` reaches listeners from the control plane too.
@Suite struct ADSTracingTests {
    typealias F = SessionFixture

    @Test func controlPlaneListenersAreTracedLikeFileOnes() throws {
        var file = SkiffConfiguration(servers: [], clusters: [], admin: nil)
        file.tracing = TracingConfig(logDirectory: "/var/log/trace")
        let engine = RecordingEngine()
        let s = engine.session(file: file)
        _ = s.streamStarted()
        _ = s.handle(F.response(.cluster, version: "c1", nonce: "n1", [F.edsCluster("svc")]))
        _ = s.handle(F.response(.endpoint, version: "e1", nonce: "n2", [F.assignment("svc", ports: [9001])]))
        _ = s.handle(F.response(.listener, version: "l1", nonce: "n3", [F.rdsListener("in", port: 18080, routes: "r")]))
        _ = s.handle(F.response(.route, version: "r1", nonce: "n4", [F.routes("r", cluster: "svc")]))
        let listener = try #require(engine.last?.allListeners.first { $0.name == "in" })
        #expect(listener.tracing == ListenerTracing(kind: .client, digestPath: "/var/log/trace/rpc-client-digest.log"))
    }
}
