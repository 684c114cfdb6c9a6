import Glibc
import SkiffJSON
import Synchronization
import Testing

@testable import SkiffControl

/// Starts a control server on a fresh path, runs `body`, stops it. `peer` replaces SO_PEERCRED when given.
func withControlServer(
    _ name: String, backend: FakeBackend = FakeBackend(), ownerUID: UInt32? = nil, peer: PeerCredentials? = nil,
    _ body: (ControlServer, String) throws -> Void
) throws {
    let path = uniqueSocketPath(name)
    var configuration = ControlServer.Configuration(path: path)
    if let ownerUID { configuration.ownerUID = ownerUID }
    if let peer { configuration.credentials = { _ in peer } }
    let server = ControlServer(configuration: configuration, backend: backend)
    try server.start()
    defer { server.stop() }
    try body(server, path)
}

@Suite(.timeLimit(.minutes(1)))
struct ControlServerTests {
    // MARK: - Commands

    @Test(arguments: ["snapshot", "hosts", "stats", "config.dump", "reload", "stop"])
    func commandReachesTheBackendAndIdIsEchoed(cmd: String) throws {
        let backend = FakeBackend()
        try withControlServer("cmd", backend: backend) { _, path in
            let client = try #require(TestSocket.unix(path))
            let reply = client.request(#"{"id":41,"cmd":"\#(cmd)"}"#)
            #expect(member(reply, "id") == .number("41"))
            #expect(member(reply, "ok") == .bool(true))
            #expect(member(reply, "cmd") == .string(cmd))
            #expect(backend.recorded.map(\.request.cmd) == [cmd])
            #expect(backend.recorded.first?.peer.uid == getuid())
            #expect(backend.recorded.first?.peer.pid == getpid())
        }
    }

    @Test func replyLinesAreExact() throws {
        let backend = FakeBackend { request in
            request.cmd == "hosts"
                ? .ok(fields: Array(#"{"hosts":[{"address":"10.0.0.3:8080"}]}"#.utf8))
                : .error("no host 10.0.0.9:8080 in cluster c1")
        }
        try withControlServer("exact", backend: backend) { _, path in
            let client = try #require(TestSocket.unix(path))
            client.send(#"{"id":1,"cmd":"hosts"}"# + "\n")
            #expect(client.readLine() == #"{"id":1,"ok":true,"hosts":[{"address":"10.0.0.3:8080"}]}"#)
            client.send(#"{"id":"x-2","cmd":"stats"}"# + "\n")
            #expect(client.readLine() == #"{"id":"x-2","ok":false,"error":"no host 10.0.0.9:8080 in cluster c1"}"#)
            client.send(#"{"cmd":"stats"}"# + "\n")
            #expect(client.readLine() == #"{"id":null,"ok":false,"error":"no host 10.0.0.9:8080 in cluster c1"}"#)
        }
    }

    @Test func hostSetStatePassesArgumentsThrough() throws {
        let backend = FakeBackend()
        try withControlServer("setstate", backend: backend) { _, path in
            let client = try #require(TestSocket.unix(path))
            let reply = client.request(
                #"{"id":2,"cmd":"host.set_state","cluster":"c1","host":"10.0.0.3:8080","state":"drain"}"#)
            #expect(member(reply, "ok") == .bool(true))
            let request = try #require(backend.recorded.first?.request)
            #expect(request.string("cluster") == "c1")
            #expect(request.string("host") == "10.0.0.3:8080")
            #expect(request.string("state") == "drain")
            #expect(request.id == .int(2))
        }
    }

    @Test(arguments: [
        (#"{"id":3,"cmd":"host.set_state","host":"h","state":"drain"}"#, #"missing argument "cluster""#),
        (
            #"{"id":3,"cmd":"host.set_state","cluster":"c","host":5,"state":"drain"}"#,
            "host must be a non-empty string, got the number 5"
        ),
        (
            #"{"id":3,"cmd":"host.set_state","cluster":"c","host":"h","state":"up"}"#,
            #"state must be one of ready, drain, maint; got "up""#
        ),
        (
            #"{"id":3,"cmd":"subscribe","since":-1}"#,
            "since must be a non-negative integer (a sequence number), got the number -1"
        ),
        (#"{"id":3,"cmd":"events","limit":-1}"#, "limit must be an integer from 1 to 100000, got the number -1"),
        (#"{"id":3,"cmd":"events","limit":0}"#, "limit must be an integer from 1 to 100000, got the number 0"),
        (#"{"id":3,"cmd":"events","limit":1e3}"#, "limit must be an integer from 1 to 100000, got the number 1e3"),
        (
            #"{"id":3,"cmd":"events","limit":9223372036854775808}"#,
            "limit must be an integer from 1 to 100000, got the number 9223372036854775808"
        ),
        (
            #"{"id":3,"cmd":"events","since":"x"}"#,
            #"since must be a non-negative integer (a sequence number), got the string "x""#
        ),
        (#"{"id":3,"cmd":"events","kind":[]}"#, "kind must be a string (an event kind or its prefix), got an array"),
        (#"{"id":3,"cmd":"stop","now":"yes"}"#, #"now must be true or false, got the string "yes""#),
        // A null is no value: it used to pass the presence check and trap the server on a force unwrap.
        (#"{"id":3,"cmd":"subscribe.interval","interval_ms":null}"#, #"missing argument "interval_ms""#),
        (#"{"id":3,"cmd":"subscribe.interval"}"#, #"missing argument "interval_ms""#),
        (
            #"{"id":3,"cmd":"subscribe.interval","interval_ms":"fast"}"#,
            #"interval_ms must be an integer from 50 to 60000, got the string "fast""#
        ),
        (
            #"{"id":3,"cmd":"host.set_state","cluster":"c","host":"h","state":"maint","kill":1}"#,
            "kill must be true or false, got the number 1"
        ),
    ])
    func badArgumentsAreAnsweredWithoutTheBackend(line: String, error: String) throws {
        let backend = FakeBackend()
        try withControlServer("badargs", backend: backend) { server, path in
            let client = try #require(TestSocket.unix(path))
            let reply = client.request(line)
            #expect(member(reply, "id") == .number("3"))
            #expect(member(reply, "ok") == .bool(false))
            #expect(member(reply, "error") == .string(error))
            #expect(backend.recorded.isEmpty)
            #expect(backend.subscribedSince.isEmpty)
            #expect(server.counters.errors == 1)
        }
    }

    @Test func unknownAndMissingCommands() throws {
        try withControlServer("unknown") { server, path in
            let client = try #require(TestSocket.unix(path))
            client.send(#"{"id":5,"cmd":"frobnicate"}"# + "\n")
            #expect(client.readLine() == #"{"id":5,"ok":false,"error":"unknown command \"frobnicate\""}"#)
            client.send(#"{"id":6}"# + "\n")
            #expect(client.readLine() == #"{"id":6,"ok":false,"error":"missing \"cmd\""}"#)
            client.send(#"{"id":7,"cmd":7}"# + "\n")
            #expect(client.readLine() == #"{"id":7,"ok":false,"error":"cmd must be a string, got the number 7"}"#)
            client.send(#"[1,2]"# + "\n")
            #expect(
                client.readLine() == #"{"id":null,"ok":false,"error":"a request must be a JSON object, got an array"}"#)
            client.send(#"{"id":1.5,"cmd":"hosts"}"# + "\n")
            #expect(
                client.readLine() == #"{"id":null,"ok":false,"error":"id must be an integer or a string, got 1.5"}"#)
            #expect(member(client.request(#"{"id":8,"cmd":"hosts"}"#), "ok") == .bool(true))
            #expect(server.counters.requests == 6)
            #expect(server.counters.errors == 5)
        }
    }

    @Test func badJSONKeepsTheConnectionUsable() throws {
        try withControlServer("badjson") { _, path in
            let client = try #require(TestSocket.unix(path))
            let bad = client.request(#"{"id":1,,"cmd":"hosts"}"#)
            #expect(member(bad, "id") == .null)
            #expect(member(bad, "ok") == .bool(false))
            guard case .string(let message)? = member(bad, "error") else {
                Issue.record("no error message")
                return
            }
            #expect(message == "bad json: line 1, column 9: unexpected ',' (expected a key in double quotes)")
            let good = client.request(#"{"id":2,"cmd":"hosts"}"#)
            #expect(member(good, "id") == .number("2"))
            #expect(member(good, "ok") == .bool(true))
        }
    }

    @Test func crlfBlankLinesAndHalfClose() throws {
        try withControlServer("halfclose") { _, path in
            let client = try #require(TestSocket.unix(path))
            // Blank lines are skipped, CRLF is fine, and the last line may lack its newline when the client shuts
            // down its side (`printf ... | socat`): the replies still arrive, then the server closes.
            client.send("\n\r\n" + #"{"id":1,"cmd":"hosts"}"# + "\r\n" + #"{"id":2,"cmd":"stats"}"#)
            client.shutdownWrite()
            #expect(member(client.readJSON(), "id") == .number("1"))
            #expect(member(client.readJSON(), "id") == .number("2"))
            #expect(client.waitForClose())
        }
    }

    @Test func oversizeLineClosesTheConnection() throws {
        try withControlServer("oversize") { server, path in
            let client = try #require(TestSocket.unix(path))
            client.send(Array(repeating: UInt8(ascii: "a"), count: 70_000) + [0x0A])
            #expect(
                client.readLine()
                    == #"{"id":null,"ok":false,"error":"line too long: over 65536 bytes; closing the connection"}"#)
            #expect(client.waitForClose())
            #expect(server.counters.oversizeLines == 1)
            // Other connections are unaffected.
            let other = try #require(TestSocket.unix(path))
            #expect(member(other.request(#"{"id":1,"cmd":"hosts"}"#), "ok") == .bool(true))
        }
    }

    @Test func lineOfExactlyTheLimitIsAccepted() throws {
        try withControlServer("limit") { _, path in
            let client = try #require(TestSocket.unix(path))
            let head = #"{"id":1,"cmd":"hosts","pad":""#
            let tail = #""}"#
            let pad = String(repeating: "p", count: 65536 - head.utf8.count - tail.utf8.count)
            #expect(member(client.request(head + pad + tail), "ok") == .bool(true))
        }
    }

    // MARK: - Authorisation

    @Test(arguments: [
        #"{"id":9,"cmd":"host.set_state","cluster":"c1","host":"10.0.0.3:8080","state":"maint"}"#,
        #"{"id":9,"cmd":"reload"}"#,
        #"{"id":9,"cmd":"stop"}"#,
    ])
    func mutationsNeedRootOrTheOwner(line: String) throws {
        let backend = FakeBackend()
        try withControlServer(
            "perm", backend: backend,
            ownerUID: 0, peer: PeerCredentials(uid: 12345, pid: 99)
        ) { server, path in
            let client = try #require(TestSocket.unix(path))
            client.send(line + "\n")
            #expect(client.readLine() == #"{"id":9,"ok":false,"error":"permission denied"}"#)
            #expect(backend.recorded.isEmpty)
            #expect(server.counters.permissionDenied == 1)
            // Reading is allowed to anyone.
            #expect(member(client.request(#"{"id":10,"cmd":"hosts"}"#), "ok") == .bool(true))
            #expect(backend.recorded.first?.peer == PeerCredentials(uid: 12345, pid: 99))
        }
    }

    @Test(arguments: [(UInt32(0), UInt32(0)), (UInt32(12345), UInt32(12345)), (UInt32(0), UInt32(500))])
    func rootAndOwnerMayMutate(peerUID: UInt32, ownerUID: UInt32) throws {
        let backend = FakeBackend()
        try withControlServer(
            "allowed", backend: backend,
            ownerUID: ownerUID, peer: PeerCredentials(uid: peerUID, pid: 1)
        ) { _, path in
            let client = try #require(TestSocket.unix(path))
            #expect(member(client.request(#"{"id":1,"cmd":"reload"}"#), "ok") == .bool(true))
            #expect(backend.recorded.map(\.request.cmd) == ["reload"])
        }
    }

    @Test func backendDefinedMutatingCommand() throws {
        let backend = FakeBackend()
        try withControlServer(
            "custom", backend: backend,
            ownerUID: 0, peer: PeerCredentials(uid: 12345, pid: 1)
        ) { server, path in
            let client = try #require(TestSocket.unix(path))
            #expect(
                member(client.request(#"{"id":1,"cmd":"log.reopen"}"#), "error")
                    == .string(#"unknown command "log.reopen""#))
            server.mutatingCommands.insert("log.reopen")
            #expect(member(client.request(#"{"id":2,"cmd":"log.reopen"}"#), "error") == .string("permission denied"))
            server.commands.insert("listeners")
            #expect(member(client.request(#"{"id":3,"cmd":"listeners"}"#), "ok") == .bool(true))
        }
    }

    @Test func realPeerCredentialsAreOurs() {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        #expect(ControlServer.peerCredentials(fds[0]) == PeerCredentials(uid: getuid(), pid: getpid()))
        #expect(ControlServer.peerCredentials(-1) == .unknown)
    }

    // MARK: - Subscriptions

    @Test func subscribeStreamsLinesAndCancelsOnDisconnect() throws {
        let backend = FakeBackend(subscription: { FakeSubscription(lines: [#"{"seq":124}"#, "{\n\"seq\":125}"]) })
        try withControlServer("sub", backend: backend) { server, path in
            let client = try #require(TestSocket.unix(path))
            client.send(#"{"id":1,"cmd":"subscribe","since":123}"# + "\n")
            #expect(client.readLine() == #"{"id":1,"ok":true,"subscribed":true}"#)
            #expect(client.readLine() == #"{"seq":124}"#)
            #expect(client.readLine() == #"{ "seq":125}"#)  // a raw newline inside cannot break the framing
            #expect(backend.subscribedSince == [123])
            // Requests still work on a subscribed connection; a second subscribe does not.
            #expect(member(client.request(#"{"id":2,"cmd":"hosts"}"#), "id") == .number("2"))
            #expect(
                client.request(#"{"id":3,"cmd":"subscribe"}"#)
                    == (try JSONParser.parse(#"{"id":3,"ok":false,"error":"already subscribed on this connection"}"#)))
            client.close()
            let subscription = try #require(backend.allSubscriptions.first)
            #expect(eventually { subscription.isCancelled })
            #expect(eventually { server.counters.clientsActive == 0 })
        }
    }

    @Test func subscribeWithoutSince() throws {
        let backend = FakeBackend()
        try withControlServer("subnosince", backend: backend) { _, path in
            let client = try #require(TestSocket.unix(path))
            #expect(member(client.request(#"{"cmd":"subscribe"}"#), "subscribed") == .bool(true))
            #expect(backend.subscribedSince == [nil])
        }
    }

    @Test func slowSubscriberIsDroppedWhileOthersAreServed() throws {
        let backend = FakeBackend(subscription: { FakeSubscription(lines: [], flood: 16, lineBytes: 16 * 1024) })
        try withControlServer("slow", backend: backend) { server, path in
            let slow = try #require(TestSocket.unix(path, timeoutSeconds: 10))
            slow.send(#"{"id":1,"cmd":"subscribe"}"# + "\n")
            // The slow client never reads. Meanwhile another client keeps being answered.
            let other = try #require(TestSocket.unix(path))
            var served = 0
            let dropped = eventually(within: 10) {
                if member(other.request(#"{"id":\#(served),"cmd":"hosts"}"#), "ok") == .bool(true) { served += 1 }
                return server.counters.droppedSlowClients == 1
            }
            #expect(dropped)
            #expect(served > 0)
            #expect(member(other.request(#"{"id":"after","cmd":"stats"}"#), "ok") == .bool(true))
            let subscription = try #require(backend.allSubscriptions.first)
            #expect(eventually { subscription.isCancelled })
            #expect(eventually { server.counters.clientsActive == 1 })
            // What the kernel buffered is still readable; then the connection ends.
            #expect(slow.waitForClose())
        }
    }

    // MARK: - Limits and lifecycle

    @Test func sixtyFifthClientIsRefused() throws {
        try withControlServer("cap") { server, path in
            var clients: [TestSocket] = []
            for i in 0..<64 {
                let c = try #require(TestSocket.unix(path))
                #expect(member(c.request(#"{"id":\#(i),"cmd":"hosts"}"#), "ok") == .bool(true))
                clients.append(c)
            }
            #expect(server.counters.clientsActive == 64)
            let extra = try #require(TestSocket.unix(path))
            #expect(extra.readLine() == #"{"id":null,"ok":false,"error":"too many clients"}"#)
            #expect(extra.waitForClose())
            #expect(server.counters.refusedClients == 1)
            // A freed slot can be used again.
            clients.removeLast().close()
            #expect(eventually { server.counters.clientsActive == 63 })
            let again = try #require(TestSocket.unix(path))
            #expect(member(again.request(#"{"id":"again","cmd":"hosts"}"#), "ok") == .bool(true))
            #expect(server.counters.clientsTotal == 65)
        }
    }

    @Test func socketFileIsMode0600AndRemovedOnStop() throws {
        let path = uniqueSocketPath("mode")
        let server = ControlServer(configuration: .init(path: path), backend: FakeBackend())
        try server.start()
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
        #expect(st.st_mode & 0o777 == 0o600)
        let client = try #require(TestSocket.unix(path))
        #expect(member(client.request(#"{"id":1,"cmd":"hosts"}"#), "ok") == .bool(true))
        server.stop()
        #expect(lstat(path, &st) != 0 && errno == ENOENT)
        #expect(client.waitForClose())
        #expect(TestSocket.unix(path) == nil)
        server.stop()  // idempotent
    }

    @Test func staleSocketFileIsReplaced() throws {
        let path = uniqueSocketPath("stale")
        // A socket file with nobody behind it, as a crashed server leaves.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var (addr, len) = UnixListener.address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        #expect(bound == 0)
        close(fd)
        var st = stat()
        #expect(lstat(path, &st) == 0)

        let server = ControlServer(configuration: .init(path: path), backend: FakeBackend())
        try server.start()
        defer { server.stop() }
        let client = try #require(TestSocket.unix(path))
        #expect(member(client.request(#"{"id":1,"cmd":"hosts"}"#), "ok") == .bool(true))
    }

    @Test func liveServerIsNotReplaced() throws {
        try withControlServer("live") { _, path in
            let second = ControlServer(configuration: .init(path: path), backend: FakeBackend())
            #expect(throws: ControlError("control socket \(path)", "another server is already listening there")) {
                try second.start()
            }
            let client = try #require(TestSocket.unix(path))
            #expect(member(client.request(#"{"id":1,"cmd":"hosts"}"#), "ok") == .bool(true))
        }
    }

    @Test func otherFilesAndMissingDirectoriesAreRefused() throws {
        let path = uniqueSocketPath("file")
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        close(fd)
        defer { unlink(path) }
        #expect(
            throws: ControlError(
                "control socket \(path)", "the path exists and is not a socket; refusing to replace it")
        ) { try ControlServer(configuration: .init(path: path), backend: FakeBackend()).start() }

        let missing = "/tmp/skiff-no-such-dir-\(getpid())/skiff.sock"
        #expect(
            throws: ControlError(
                "control socket \(missing)", "directory /tmp/skiff-no-such-dir-\(getpid()) does not exist")
        ) { try ControlServer(configuration: .init(path: missing), backend: FakeBackend()).start() }
    }

    @Test func stopFromInsideHandleStillAnswers() throws {
        let box = Mutex<ControlServer?>(nil)
        let backend = FakeBackend { request in
            if request.cmd == "stop" { box.withLock { $0 }?.stop() }
            return .ok([JSONMember(key: "stopping", value: .bool(true))])
        }
        let path = uniqueSocketPath("selfstop")
        let server = ControlServer(configuration: .init(path: path), backend: backend)
        box.withLock { $0 = server }
        try server.start()
        defer { server.stop() }
        let bystander = try #require(TestSocket.unix(path))
        #expect(member(bystander.request(#"{"id":0,"cmd":"hosts"}"#), "ok") == .bool(true))
        let client = try #require(TestSocket.unix(path))
        client.send(#"{"id":1,"cmd":"stop"}"# + "\n")
        #expect(client.readLine() == #"{"id":1,"ok":true,"stopping":true}"#)
        #expect(client.waitForClose())
        #expect(bystander.waitForClose())
        var st = stat()
        #expect(lstat(path, &st) != 0)
        box.withLock { $0 = nil }
    }
}
