import SkiffJSON

/// Who is on the other end of a control connection, from SO_PEERCRED (the credentials the peer had when it
/// connected).
public struct PeerCredentials: Sendable, Equatable {
    public var uid: UInt32
    public var pid: Int32

    public init(uid: UInt32, pid: Int32) {
        self.uid = uid
        self.pid = pid
    }

    /// What a connection gets when SO_PEERCRED fails: a uid no one has, so every mutation is refused.
    public static let unknown = PeerCredentials(uid: UInt32.max, pid: 0)
}

/// The engine behind the control socket.
///
/// The server calls it from its client threads, one call per request line, concurrently for different clients; it
/// must be thread-safe and should answer quickly (a slow `handle` delays only the client that asked).
/// The server has already checked what it can before calling: the line is a JSON object with a string `cmd` that is
/// in the server's command set, the peer may run it (`ControlServer.Configuration.mutatingCommands`), and for
/// `host.set_state` the `cluster`, `host` and `state` arguments are present and well-formed.
public protocol ControlBackend: AnyObject, Sendable {
    /// Handles one request (never `subscribe`); returns the JSON object to send as the reply's body fields, or an
    /// error.
    func handle(_ request: ControlRequest, peer: PeerCredentials) -> ControlResult
    /// A new subscription: frames and events from now (or after sequence number `since`).
    func subscribe(since: UInt64?) -> any ControlSubscription
    /// A new subscription paced at `intervalMs` (nil: every frame the engine publishes). Backends that cannot pace
    /// return nil and the client is told so.
    func subscribe(since: UInt64?, intervalMs: Int) -> (any ControlSubscription)?
    /// A request whose reply carries descriptors (SCM_RIGHTS): `upgrade.listeners`, a new process taking over the
    /// listening sockets. Returns the reply and the descriptors to attach, which become the server's: it closes
    /// them once sent (or when the reply is an error), so return duplicates of anything the backend keeps using;
    /// nil when the backend does not hand descriptors over.
    func handleWithDescriptors(_ request: ControlRequest, peer: PeerCredentials) -> (ControlResult, [Int32])?
    /// `subscribe` with `"stream":"requests"`: samples of finished requests from now on (`type: request` lines), and
    /// the most samples per second per executor the tap takes; nil when the backend has no request tap.
    func subscribeRequests() -> (subscription: any ControlSubscription, maxPerSecond: Int)?
}

extension ControlBackend {
    public func subscribe(since: UInt64?, intervalMs: Int) -> (any ControlSubscription)? { nil }
    public func subscribeRequests() -> (subscription: any ControlSubscription, maxPerSecond: Int)? { nil }

    public func handleWithDescriptors(_ request: ControlRequest, peer: PeerCredentials) -> (ControlResult, [Int32])? {
        nil
    }
}

/// One subscriber's cursor into the engine's frames and events.
///
/// Owned by one client thread of the server: `next` is called in a loop from that thread, and `cancel` exactly once,
/// from the same thread, after the last `next` (when the client disconnects, is dropped, or the server stops).
public protocol ControlSubscription: AnyObject {
    /// Blocks up to `timeoutNs` for the next lines to send (each a complete JSON object, no newline); empty on
    /// timeout. The server calls it again at once, so a short timeout (tens of milliseconds) costs little.
    func next(timeoutNs: UInt64) -> [[UInt8]]
    /// The client is gone; release the cursor.
    func cancel()
    /// Paces the stream at `intervalMs` from now on (`subscribe.interval`); false if this subscription cannot.
    func setInterval(ms: Int) -> Bool
}

extension ControlSubscription {
    public func setInterval(ms: Int) -> Bool { false }
}

/// What the engine answers to one request.
///
/// ```swift
/// return .ok(fields: Array(#"{"hosts":[]}"#.utf8))        // {"id":1,"ok":true,"hosts":[]}
/// return .ok([JSONMember(key: "reloaded", value: .bool(true))])
/// return .error("no host 10.0.0.3:8080 in cluster c1")   // {"id":1,"ok":false,"error":"no host ..."}
/// ```
public enum ControlResult: Sendable, Equatable {
    /// Success. `fields` is a pre-encoded JSON object (`{...}`) whose members are added to the reply after `id` and
    /// `ok`; empty bytes or `{}` add nothing. It must not contain the members `id` or `ok`.
    case ok(fields: [UInt8])
    /// Failure, with a message a person can act on.
    case error(String)

    /// Success with these members (encoded compactly with `JSONWriter`).
    public static func ok(_ members: [JSONMember]) -> ControlResult {
        .ok(fields: JSONWriter.encode(.object(members)))
    }

    /// Success with no extra fields: `{"id":1,"ok":true}`.
    public static var done: ControlResult { .ok(fields: []) }
}
