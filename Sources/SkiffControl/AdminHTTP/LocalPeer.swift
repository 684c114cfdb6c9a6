import Glibc

/// The uid of the local process at the other end of a TCP connection, read from the kernel's socket tables
/// (`/proc/net/tcp`, `/proc/net/tcp6`): the row whose local address is our peer's and whose remote address is ours
/// belongs to the client's socket, and carries its owner's uid.
///
/// Only for the admin API's mutations (rare): a lookup reads the whole table. Stateless and thread-safe.
enum LocalPeer {
    /// The client's uid, or nil when the connection is not from this host's network namespace or not found.
    static func uid(ofConnection fd: Int32) -> UInt32? {
        guard let local = address(fd, peer: false), let remote = address(fd, peer: true) else { return nil }
        // The client's row: its local address is our remote one, and the other way round.
        for (index, table) in ["/proc/net/tcp", "/proc/net/tcp6"].enumerated() {
            guard let clientLocal = remote.text[index], let clientRemote = local.text[index],
                let text = readTable(table)
            else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let cols = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true)
                guard cols.count > 7, cols[1] == clientLocal, cols[2] == clientRemote else { continue }
                return UInt32(cols[7])
            }
        }
        return nil
    }

    /// An endpoint as the two tables print it: `[tcp form, tcp6 form]`. An IPv4 address appears in tcp6 as
    /// `::ffff:a.b.c.d` (a dual-stack socket); an IPv6 one has no tcp form unless it is such a mapped address.
    struct Endpoint {
        var text: [Substring?]
    }

    static func address(_ fd: Int32, peer: Bool) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        guard rc == 0 else { return nil }
        let bytes: [UInt8]
        let port: UInt16
        switch Int32(storage.ss_family) {
        case AF_INET:
            let a = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            bytes = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + withUnsafeBytes(of: a.sin_addr) { Array($0) }
            port = UInt16(bigEndian: a.sin_port)
        case AF_INET6:
            let a = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            bytes = withUnsafeBytes(of: a.sin6_addr) { Array($0) }
            port = UInt16(bigEndian: a.sin6_port)
        default:
            return nil
        }
        let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        let v4 = mapped ? Substring(text(Array(bytes[12...]), port)) : nil
        return Endpoint(text: [v4, Substring(text(bytes, port))])
    }

    /// The kernel prints each 32-bit word of the address as a native (little-endian here) hex number, then the
    /// port in hex: `0100007F:1F90` for 127.0.0.1:8080.
    static func text(_ bytes: [UInt8], _ port: UInt16) -> String {
        var out = ""
        for word in stride(from: 0, to: bytes.count, by: 4) {
            var value: UInt32 = 0
            for i in 0..<4 { value |= UInt32(bytes[word + i]) << (8 * UInt32(i)) }
            out += hex(UInt64(value), digits: 8)
        }
        return out + ":" + hex(UInt64(port), digits: 4)
    }

    private static func hex(_ v: UInt64, digits: Int) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    private static func readTable(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > 64 << 20 { break }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
