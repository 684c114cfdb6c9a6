import Glibc
import SkiffTestSupport
import Testing

/// The real binary under valgrind's callgrind, for counting calls to the allocator over a window of requests: a
/// copy of the debug build without its DWARF (valgrind cannot read it), started on `config`, with windows measured
/// between `callgrind_control -z` and `-d`. Threads are dumped apart and only those that ran `servedBy` (the
/// request path) count: background threads (the frame publisher, the access-log writer) allocate by the clock, and
/// under a loaded machine two windows of one count of requests last different times.
final class CallgrindSkiff {
    static var available: Bool { access("/usr/bin/valgrind", X_OK) == 0 }

    let process: SkiffProcess
    private let out: String
    private var dumps = 0

    /// Starts skiff on `config` (written to `dir`, which the caller removes).
    init(config: String, dir: String) throws {
        let path = dir + "/skiff.json"
        try overwrite(path, config)
        out = dir + "/cg.out"
        let binary = dir + "/skiff"
        let strip = try SkiffProcess.runCommand("/usr/bin/objcopy", ["--strip-debug", SkiffProcess.binaryPath, binary])
        #expect(strip.status == 0, "\(strip.output)")
        process = try SkiffProcess(
            executable: "/usr/bin/valgrind",
            ["--tool=callgrind", "--separate-threads=yes", "--callgrind-out-file=\(out)", binary, "start", "-c", path,
             "--control-socket", dir + "/s.sock"])
        #expect(process.waitForOutput("started", seconds: 120), "\(process.output)")
    }

    func stop() { process.stop(seconds: 30) }

    /// Allocator calls on the threads that ran a function whose symbol contains `servedBy` while `request` runs `n`
    /// times, after 200 runs to warm up.
    func allocatorCalls(_ n: Int, servedBy: String = "HTTPExchange", _ request: () throws -> Void) throws -> Int {
        for _ in 0..<200 { try request() }
        _ = try SkiffProcess.runCommand("/usr/bin/callgrind_control", ["-z", "\(process.pid)"])
        for _ in 0..<n { try request() }
        _ = try SkiffProcess.runCommand("/usr/bin/callgrind_control", ["-d", "\(process.pid)"])
        // Each thread's dump (`<out>.<n>-<thread>`) is written when valgrind next polls for commands; complete once
        // its totals line is there.
        dumps += 1
        let prefix = "\(out).\(dumps)-"
        func threadDumps() -> [String] {
            guard let d = opendir(String(out[..<out.lastIndex(of: "/")!])) else { return [] }
            defer { closedir(d) }
            var names: [String] = []
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                let path = String(out[...out.lastIndex(of: "/")!]) + name
                if path.hasPrefix(prefix) { names.append(path) }
            }
            return names
        }
        let complete = waitUntil(seconds: 60) {
            let d = threadDumps()
            return !d.isEmpty
                && d.allSatisfy { (try? readFile($0)).map { String(decoding: $0, as: UTF8.self).contains("\ntotals:") } ?? false }
        }
        #expect(complete)
        var total = 0
        var serving = 0
        for dump in threadDumps() where String(decoding: try readFile(dump), as: UTF8.self).contains(servedBy) {
            total += try Self.allocatorCalls(dump)
            serving += 1
        }
        #expect(serving > 0, "no thread ran \(servedBy)")
        return total
    }

    /// Calls to the allocators in a callgrind dump.
    static func allocatorCalls(_ dump: String) throws -> Int {
        let text = String(decoding: try readFile(dump), as: UTF8.self)
        var names: [String: String] = [:]
        var target: String?
        var total = 0
        let allocators: Set<String> = ["malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc"]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("cfn=(") || line.hasPrefix("fn=(") {
                let body = line.drop { $0 != "(" }.dropFirst()
                let id = String(body.prefix { $0 != ")" })
                let rest = body.drop { $0 != ")" }.dropFirst().drop { $0 == " " }
                if !rest.isEmpty { names[id] = String(rest) }
                target = line.hasPrefix("cfn=") ? names[id] : nil
            } else if line.hasPrefix("calls="), let t = target, allocators.contains(t) {
                total += Int(line.dropFirst("calls=".count).prefix { $0.isNumber }) ?? 0
            }
        }
        return total
    }
}
