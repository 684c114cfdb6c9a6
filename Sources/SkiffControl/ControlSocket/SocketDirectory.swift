import Glibc

/// The directory a control socket lives in. Whoever may write to it can put their own socket in place of ours (and
/// answer `skiff stop` with "stopping" while the daemon runs on), so a missing directory is created mode 0700 and an
/// existing one must belong to us or root and be closed to other writers.
///
/// Stateless; called from `ControlServer.start` (check) and by the CLI before anything starts (create, then check).
public enum SocketDirectory {
    /// The directory part of a socket path: `/run/skiff` for `/run/skiff/skiff.sock`, `.` for `skiff.sock`.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Creates the socket's directory (one level, mode 0700) when it is missing, then checks it (see `check`).
    public static func prepare(forSocket path: String) throws(ControlError) {
        let dir = directory(of: path)
        var st = stat()
        if stat(dir, &st) != 0 && errno == ENOENT {
            if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                throw ControlError("control socket \(path)", "creating directory \(dir)", errno: errno)
            }
        }
        try check(forSocket: path)
    }

    /// Refuses a directory that is missing, not a directory, owned by someone other than `uid` or root, or writable
    /// by group or others without the sticky bit. A sticky directory such as `/tmp` is accepted: there nobody may
    /// remove or rename another user's socket file.
    public static func check(forSocket path: String, uid: UInt32 = geteuid()) throws(ControlError) {
        let context = "control socket \(path)"
        let dir = directory(of: path)
        var st = stat()
        guard stat(dir, &st) == 0 else {
            let e = errno
            if e == ENOENT { throw ControlError(context, "directory \(dir) does not exist") }
            throw ControlError(context, "directory \(dir)", errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ControlError(context, "\(dir) is not a directory")
        }
        if let problem = problem(directory: dir, owner: st.st_uid, mode: st.st_mode, uid: uid) {
            throw ControlError(context, problem)
        }
    }

    /// Why a directory with this owner and mode is unsafe for a socket of a process running as `uid`; nil when it
    /// is safe. Pure, for tests.
    public static func problem(directory dir: String, owner: UInt32, mode: UInt32, uid: UInt32) -> String? {
        if owner != uid && owner != 0 {
            return "directory \(dir) belongs to uid \(owner), not to you (uid \(uid)) or root; refusing to put the "
                + "socket where another user can replace it (remove the directory, or choose another path)"
        }
        let writableByOthers = mode & (UInt32(S_IWGRP) | UInt32(S_IWOTH)) != 0
        let sticky = mode & UInt32(S_ISVTX) != 0
        if writableByOthers && !sticky {
            let octal = String(mode & 0o7777, radix: 8)
            let padded = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
            return "directory \(dir) is writable by other users (mode \(padded)); refusing to put the socket where "
                + "another user can replace it (chmod go-w \(dir), or choose another path)"
        }
        return nil
    }
}
