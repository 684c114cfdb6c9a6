import Glibc
import Testing

@testable import SkiffControl

/// The admin API's access rules, decided without sockets; then the uid lookup and the rules on a real server.
@Suite(.timeLimit(.minutes(1)))
struct AdminAccessPolicyTests {
    static let token = "0123456789abcdef-token"
    static let loopback = AdminAccessPolicy(loopbackOnly: true, token: nil, ownerUID: 1000, address: "127.0.0.1:1")
    static let anywhere = AdminAccessPolicy(loopbackOnly: false, token: nil, ownerUID: 1000, address: "0.0.0.0:1")
    static let withToken = AdminAccessPolicy(loopbackOnly: false, token: token, ownerUID: 1000, address: "0.0.0.0:1")

    func decide(
        _ policy: AdminAccessPolicy, _ method: String, _ headers: [(String, String)] = [], uid: UInt32? = 1000
    ) -> AdminAccessPolicy.Decision {
        policy.decide(method: method, headers: headers.map { (name: $0.0, value: $0.1) }, peerUID: { uid })
    }

    func isDenied(_ d: AdminAccessPolicy.Decision) -> Bool {
        if case .deny(let status, _) = d { return status == 403 }
        return false
    }

    @Test func readsAreOpenEverywhere() {
        for p in [Self.loopback, Self.anywhere, Self.withToken] {
            #expect(
                decide(p, "GET", [("Origin", "http://evil.example"), ("Host", "evil.example")], uid: nil)
                    == .allow(uid: nil))
            #expect(decide(p, "HEAD", uid: 4242) == .allow(uid: nil))
        }
    }

    @Test func browsersMayNotMutateWhateverTheirCredentials() {
        for p in [Self.loopback, Self.anywhere, Self.withToken] {
            for headers in [
                [("Origin", "http://evil.example")], [("origin", "null")], [("Sec-Fetch-Site", "cross-site")],
                [("Sec-Fetch-Site", "same-site")],
                [("Authorization", "Bearer \(Self.token)"), ("Origin", "http://127.0.0.1:1")],
            ] {
                #expect(isDenied(decide(p, "POST", headers, uid: 0)), "\(headers)")
            }
        }
        // What a non-browser client or a user typing the URL sends is fine.
        #expect(decide(Self.loopback, "POST", [("Sec-Fetch-Site", "none")], uid: 0) == .allow(uid: 0))
        #expect(decide(Self.loopback, "POST", [("Sec-Fetch-Site", "same-origin")], uid: 0) == .allow(uid: 0))
    }

    @Test func loopbackWithoutATokenAdmitsRootAndTheOwnerOnly() {
        #expect(decide(Self.loopback, "POST", uid: 0) == .allow(uid: 0))
        #expect(decide(Self.loopback, "POST", uid: 1000) == .allow(uid: 1000))
        #expect(isDenied(decide(Self.loopback, "POST", uid: 1001)))
        #expect(isDenied(decide(Self.loopback, "POST", uid: nil)), "an unknown caller is refused")
        #expect(isDenied(decide(Self.loopback, "DELETE", uid: 1001)))
        // A name other than localhost in Host is a rebinding page; IP literals and localhost are not.
        #expect(isDenied(decide(Self.loopback, "POST", [("Host", "evil.example:1")], uid: 0)))
        for host in ["127.0.0.1:34902", "127.0.0.1", "localhost:34902", "LOCALHOST", "[::1]:34902", "10.1.2.3"] {
            #expect(decide(Self.loopback, "POST", [("Host", host)], uid: 0) == .allow(uid: 0), "\(host)")
        }
    }

    @Test func beyondLoopbackWithoutATokenNobodyMutates() {
        guard case .deny(403, let reason) = decide(Self.anywhere, "POST", uid: 0) else {
            Issue.record("root mutated an API beyond loopback without a token")
            return
        }
        #expect(reason.hasPrefix("the admin API listens beyond loopback (0.0.0.0:1) without admin.token"))
    }

    @Test func theTokenIsRequiredAndCompared() {
        #expect(isDenied(decide(Self.withToken, "POST", uid: 0)))
        #expect(isDenied(decide(Self.withToken, "POST", [("Authorization", "Bearer wrong")], uid: 0)))
        #expect(isDenied(decide(Self.withToken, "POST", [("Authorization", "Basic \(Self.token)")], uid: 0)))
        #expect(isDenied(decide(Self.withToken, "POST", [("Authorization", "Bearer \(Self.token)x")], uid: 0)))
        #expect(
            isDenied(decide(Self.withToken, "POST", [("Authorization", "Bearer " + Self.token.dropLast())], uid: 0)))
        #expect(
            decide(Self.withToken, "POST", [("Authorization", "Bearer \(Self.token)")], uid: nil) == .allow(uid: nil))
        #expect(decide(Self.withToken, "PUT", [("authorization", "bearer  \(Self.token) ")], uid: 7) == .allow(uid: 7))
        // On loopback a token holder of any uid may mutate.
        var local = Self.withToken
        local.loopbackOnly = true
        #expect(decide(local, "POST", [("Authorization", "Bearer \(Self.token)")], uid: 4242) == .allow(uid: 4242))
        #expect(isDenied(decide(local, "POST", uid: 0)), "with a token configured, root needs it too")
    }

    @Test func loopbackAddresses() {
        for host in ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"] {
            #expect(AdminAccessPolicy.isLoopback(host: host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "example.com"] {
            #expect(!AdminAccessPolicy.isLoopback(host: host), "\(host)")
        }
    }

    /// The uid of the process at the other end of a local TCP connection, from the kernel's socket table: ours.
    @Test func localPeerUIDIsFound() throws {
        try withAdminServer { server in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { Glibc.close(fd) }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(server.port).bigEndian
            a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(rc == 0)
            // Seen from the client side, the server's socket is the peer: its row names our uid too.
            #expect(LocalPeer.uid(ofConnection: fd) == getuid())
        }
    }

    /// On a server, a refused mutation is 403 with the reason, counted, and never reaches the handler.
    @Test func serverAppliesThePolicy() throws {
        var configuration = AdminHTTPServer.Configuration(port: 0)
        configuration.access = AdminAccessPolicy(loopbackOnly: false, token: Self.token, address: "0.0.0.0:0")
        let server = AdminHTTPServer(configuration: configuration)
        let calls = CallCounter()
        server.route("POST", "/api/v1/hosts/*/*/state") { req in
            calls.bump()
            return .text("uid=\(req.peerUID.map(String.init) ?? "-")")
        }
        try server.start()
        defer { server.stop() }
        let c = try #require(TestSocket.tcp(port: server.port))
        c.send("POST /api/v1/hosts/a/b/state HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\ndrain")
        let refused = try #require(c.readHTTPResponse())
        #expect(refused.status == 403)
        #expect(refused.text.hasPrefix("changing state needs the admin token"))
        c.send(
            "POST /api/v1/hosts/a/b/state HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Self.token)\r\nContent-Length: 5\r\n\r\ndrain"
        )
        let allowed = try #require(c.readHTTPResponse())
        #expect(allowed.status == 200)
        #expect(allowed.text == "uid=\(getuid())\n")
        #expect(server.stats.forbidden == 1)
        #expect(calls.count == 1)
    }
}

/// Counts handler calls across threads.
final class CallCounter: @unchecked Sendable {
    private var n = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func bump() {
        pthread_mutex_lock(&lock)
        n += 1
        pthread_mutex_unlock(&lock)
    }
    var count: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return n
    }
}
