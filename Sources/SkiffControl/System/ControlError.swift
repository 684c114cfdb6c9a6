import Glibc

/// Why a control-plane server could not start or a call failed: what was attempted, on what, and errno when the
/// operating system said no.
///
/// ```
/// control socket /run/skiff/skiff.sock: directory /run/skiff does not exist
/// admin http 127.0.0.1:34902: bind: Address already in use
/// ```
public struct ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed, with its address or path ("control socket /run/skiff/skiff.sock").
    public var context: String
    /// What went wrong ("bind", "another server is listening there").
    public var message: String
    /// The errno, when a syscall failed.
    public var errno: Int32?

    public init(_ context: String, _ message: String, errno: Int32? = nil) {
        self.context = context
        self.message = message
        self.errno = errno
    }

    public var description: String {
        if let errno {
            return "\(context): \(message): \(String(cString: strerror(errno)))"
        }
        return "\(context): \(message)"
    }
}
