import Glibc
import Testing

@testable import SkiffControl

/// Where a control socket may live: a directory only we (or root) own and only we may write to, or a sticky one.
@Suite struct SocketDirectoryTests {
    @Test(arguments: [
        (UInt32(1000), UInt32(0o40700), true), (1000, 0o40755, true), (0, 0o40755, true), (0, 0o41777, true),
        (1000, 0o41777, true), (1001, 0o40700, false), (1001, 0o41777, false), (1000, 0o40777, false),
        (1000, 0o40775, false), (0, 0o40757, false),
    ])
    func directoryRule(owner: UInt32, mode: UInt32, safe: Bool) {
        let problem = SocketDirectory.problem(directory: "/d", owner: owner, mode: mode, uid: 1000)
        #expect((problem == nil) == safe, "owner \(owner) mode \(String(mode, radix: 8)): \(problem ?? "ok")")
    }

    @Test func messagesSayWhatToDo() {
        #expect(
            SocketDirectory.problem(directory: "/tmp/skiff-1000", owner: 1001, mode: 0o40777, uid: 1000)
                == "directory /tmp/skiff-1000 belongs to uid 1001, not to you (uid 1000) or root; refusing to put the "
                + "socket where another user can replace it (remove the directory, or choose another path)")
        #expect(
            SocketDirectory.problem(directory: "/tmp/skiff-1000", owner: 1000, mode: 0o40777, uid: 1000)
                == "directory /tmp/skiff-1000 is writable by other users (mode 0777); refusing to put the socket where "
                + "another user can replace it (chmod go-w /tmp/skiff-1000, or choose another path)")
    }

    @Test func prepareCreatesAMissingDirectory0700() throws {
        let dir = "/tmp/skiff-ctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { rmdir(dir) }
        umask(0o022)
        try SocketDirectory.prepare(forSocket: dir + "/skiff.sock")
        var st = stat()
        #expect(stat(dir, &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o700)
        #expect(SocketDirectory.directory(of: "skiff.sock") == ".")
        #expect(SocketDirectory.directory(of: "/skiff.sock") == "/")
    }

    /// A real directory of another user (needs root to make one): the server refuses to start there.
    @Test(.enabled(if: getuid() == 0, "needs root to make a directory of another user"))
    func serverRefusesAnotherUsersDirectory() throws {
        let dir = "/tmp/skiff-ctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o700)
        defer { rmdir(dir) }
        chown(dir, 65534, 65534)
        let path = dir + "/skiff.sock"
        #expect(throws: ControlError.self) {
            try ControlServer(configuration: .init(path: path), backend: FakeBackend()).start()
        }
        #expect(access(path, F_OK) != 0, "nothing was created there")
    }
}
