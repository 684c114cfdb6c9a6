import CNGHTTP2
import Glibc

/// libnghttp2's allocator for one session (`nghttp2_mem`): blocks in power-of-two size classes (32 B to 8 KiB) kept
/// on free lists when freed and handed out again, so a connection's streams, header buffers and frames stop costing a
/// malloc and a free each once the first ones have been made (libnghttp2 allocates about 16 blocks per request it
/// proxies). Larger blocks go to malloc. Each block carries its class (and a large one its size) in a 16-byte header.
/// At most `keepPerClass` free blocks are kept per class; the rest, and everything kept, go back to the system with
/// the pool.
///
/// The lists live in raw memory that the C callbacks reach through `mem_user_data` with no reference counting.
///
/// Threads: the session's (one at a time); the pool must outlive the session (`HTTP2Session` deletes the session
/// first).
final class HTTP2MemoryPool {
    static let classes = 9
    static let smallest = 32
    static let header = 16
    static let keepPerClass = 256
    /// Marks a block that came from malloc directly (too large for a class).
    static let unpooled: UInt8 = 0xff

    /// Per class: the free list's head (a block's first word after its header links the next), then the count kept.
    private let lists: UnsafeMutablePointer<Int>

    init() {
        lists = .allocate(capacity: 2 * Self.classes)
        lists.initialize(repeating: 0, count: 2 * Self.classes)
    }

    deinit {
        for c in 0..<Self.classes {
            var p = UnsafeMutableRawPointer(bitPattern: lists[c])
            while let block = p {
                p = UnsafeMutableRawPointer(bitPattern: block.load(fromByteOffset: Self.header, as: Int.self))
                Glibc.free(block)
            }
        }
        lists.deallocate()
    }

    /// The class whose blocks hold `size` bytes, or nil.
    @inline(__always) static func sizeClass(_ size: Int) -> Int? {
        if size <= smallest { return 0 }
        let c = Int.bitWidth - (size - 1).leadingZeroBitCount - 5  // 33...64 -> 1, ..., 4097...8192 -> 8
        return c < classes ? c : nil
    }

    @inline(__always) static func capacity(ofClass c: Int) -> Int { smallest << c }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? { Self.allocate(lists, size) }
    func release(_ pointer: UnsafeMutableRawPointer?) { Self.release(lists, pointer) }
    func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        Self.reallocate(lists, pointer, size)
    }

    static func allocate(_ lists: UnsafeMutablePointer<Int>, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let c = sizeClass(size) else {
            guard let block = malloc(size + header) else { return nil }
            block.storeBytes(of: unpooled, as: UInt8.self)
            block.storeBytes(of: size, toByteOffset: 8, as: Int.self)
            return block + header
        }
        if let block = UnsafeMutableRawPointer(bitPattern: lists[c]) {
            lists[c] = block.load(fromByteOffset: header, as: Int.self)
            lists[classes + c] -= 1
            return block + header
        }
        guard let block = malloc(capacity(ofClass: c) + header) else { return nil }
        block.storeBytes(of: UInt8(c), as: UInt8.self)
        return block + header
    }

    static func release(_ lists: UnsafeMutablePointer<Int>, _ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let block = pointer - header
        let c = block.load(as: UInt8.self)
        guard c != unpooled, lists[classes + Int(c)] < keepPerClass else {
            Glibc.free(block)
            return
        }
        block.storeBytes(of: lists[Int(c)], toByteOffset: header, as: Int.self)
        lists[Int(c)] = Int(bitPattern: block)
        lists[classes + Int(c)] += 1
    }

    static func reallocate(_ lists: UnsafeMutablePointer<Int>, _ pointer: UnsafeMutableRawPointer?, _ size: Int)
        -> UnsafeMutableRawPointer?
    {
        guard let pointer else { return allocate(lists, size) }
        let c = (pointer - header).load(as: UInt8.self)
        if c != unpooled && size <= capacity(ofClass: Int(c)) { return pointer }
        guard let bigger = allocate(lists, size) else { return nil }
        let old = c == unpooled ? (pointer - header).load(fromByteOffset: 8, as: Int.self) : capacity(ofClass: Int(c))
        bigger.copyMemory(from: pointer, byteCount: min(old, size))
        release(lists, pointer)
        return bigger
    }

    /// The `nghttp2_mem` that routes libnghttp2's allocations here.
    func mem() -> nghttp2_mem {
        nghttp2_mem(
            mem_user_data: UnsafeMutableRawPointer(lists),
            malloc: { size, user in HTTP2MemoryPool.allocate(user!.assumingMemoryBound(to: Int.self), size) },
            free: { pointer, user in HTTP2MemoryPool.release(user!.assumingMemoryBound(to: Int.self), pointer) },
            calloc: { count, size, user in
                let total = count * size
                let p = HTTP2MemoryPool.allocate(user!.assumingMemoryBound(to: Int.self), total)
                if let p { memset(p, 0, total) }
                return p
            },
            realloc: { pointer, size, user in
                HTTP2MemoryPool.reallocate(user!.assumingMemoryBound(to: Int.self), pointer, size)
            })
    }
}
