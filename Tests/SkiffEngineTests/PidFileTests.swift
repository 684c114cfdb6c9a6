import Glibc
import SkiffEngine
import SkiffTestSupport
import Testing

/// The pid file's rules, with "this process" and "a live skiff" injected: no second process needed.
@Suite struct PidFileTests {
    static func tempPath() -> String { "/tmp/skiff-pidtest-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pid" }

    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }

    static func contents(_ path: String) -> String? {
        (try? readFile(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aNewFileNamesThisProcess() throws {
        let path = Self.tempPath()
        defer { unlink(path) }
        let p = try PidFile.claim(path, pid: 1234, isLiveSkiff: { _ in false })
        #expect(Self.contents(path) == "1234\n")
        #expect(access(path + ".tmp", F_OK) != 0, "the temporary file was renamed over")
        #expect(p.remove())
        #expect(access(path, F_OK) != 0)
    }

    @Test func aLiveOwnerIsRefusedAndItsFileKept() throws {
        let path = Self.tempPath()
        defer { unlink(path) }
        Self.write(path, "777\n")
        #expect(throws: PidFileError("pid file \(path): skiff is already running as pid 777")) {
            try PidFile.claim(path, pid: 1234, isLiveSkiff: { $0 == 777 })
        }
        #expect(Self.contents(path) == "777\n")
    }

    @Test func aStaleFileIsReplaced() throws {
        let path = Self.tempPath()
        defer { unlink(path) }
        Self.write(path, "777\n")
        _ = try PidFile.claim(path, pid: 1234, isLiveSkiff: { _ in false })
        #expect(Self.contents(path) == "1234\n")
        // Garbage is stale too.
        Self.write(path, "not a pid\n")
        _ = try PidFile.claim(path, pid: 1234, isLiveSkiff: { _ in true })
        #expect(Self.contents(path) == "1234\n")
    }

    @Test func aBinaryUpgradeTakesTheFileOverFromTheOldProcess() throws {
        let path = Self.tempPath()
        defer { unlink(path) }
        Self.write(path, "777\n")
        _ = try PidFile.claim(path, pid: 1234, takingOverFrom: 777, isLiveSkiff: { $0 == 777 })
        #expect(Self.contents(path) == "1234\n")
    }

    @Test func theFileIsRemovedOnExitOnlyIfItStillNamesThisProcess() throws {
        let path = Self.tempPath()
        defer { unlink(path) }
        let old = try PidFile.claim(path, pid: 777, isLiveSkiff: { _ in false })
        // A binary upgrade's new process took it over.
        _ = try PidFile.claim(path, pid: 1234, takingOverFrom: 777, isLiveSkiff: { _ in true })
        #expect(!old.remove(), "the old process leaves the new one's file alone")
        #expect(Self.contents(path) == "1234\n")
    }

    @Test func anUnwritableDirectoryIsAClearError() {
        let path = "/nonexistent-\(getpid())/skiff.pid"
        #expect {
            try PidFile.claim(path, pid: 1234)
        } throws: { error in
            "\(error)".hasPrefix("pid file \(path): cannot write: No such file or directory")
        }
    }

    /// The default check: a pid that exists and runs a skiff (this test binary is skiffPackageTests), and one that
    /// cannot exist (above any pid_max).
    @Test func liveSkiffCheck() {
        #expect(PidFile.isLiveSkiff(getpid()))
        #expect(!PidFile.isLiveSkiff(Int32.max))
    }
}
