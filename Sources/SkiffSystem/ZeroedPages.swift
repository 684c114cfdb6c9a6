import Glibc

/// Large zero-filled buffers taken straight from the kernel (an anonymous private mapping), so that their pages cost
/// no memory until first written: a ring of several MiB reserved at start adds nothing to an idle process's RSS.
/// Allocating with `.allocate` and zeroing would touch, and so commit, every page.
///
/// For element types whose all-zero bytes are a valid value (integers, `Atomic` of integers); the memory is bound to
/// the element type and needs no initialisation. Free with `deallocate`, from any thread.
public enum ZeroedPages {
    /// `count` zeroed elements of `T`, untouched until written. Traps when the kernel refuses the mapping (at start,
    /// sized from config: there is nothing sensible to fall back to).
    public static func allocate<T: ~Copyable>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        precondition(count > 0, "ZeroedPages: count must be positive")
        let bytes = byteCount(type, count: count)
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else {
            preconditionFailure("ZeroedPages: mmap of \(bytes) bytes failed (errno \(errno))")
        }
        return p.bindMemory(to: T.self, capacity: count)
    }

    /// Returns the pages of a buffer from `allocate` (same type and count) to the kernel.
    public static func deallocate<T: ~Copyable>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
        munmap(UnsafeMutableRawPointer(pointer), byteCount(T.self, count: count))
    }

    /// How many of the buffer's pages are resident (`mincore`): what it costs in memory now. Diagnostics and tests.
    public static func residentPages<T: ~Copyable>(_ pointer: UnsafeMutablePointer<T>, count: Int) -> Int {
        let bytes = byteCount(T.self, count: count)
        let pages = bytes / Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: pages)
        guard mincore(UnsafeMutableRawPointer(pointer), bytes, &vector) == 0 else { return -1 }
        return vector.reduce(0) { $0 + Int($1 & 1) }
    }

    private static func byteCount<T: ~Copyable>(_ type: T.Type, count: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let raw = MemoryLayout<T>.stride * count
        return (raw + page - 1) / page * page
    }
}
