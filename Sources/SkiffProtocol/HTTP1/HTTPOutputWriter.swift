/// Appends bytes to caller-owned memory without ever writing past its capacity.
///
/// The renderer writes a whole head through one of these; a write that does not fit sets `overflow` and writes
/// nothing, so the caller gets nil and can retry with a larger buffer. A value on the stack: no allocation.
struct HTTPOutputWriter {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0
    private(set) var overflow = false

    @inline(__always)
    init(_ base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = max(0, capacity)
    }

    /// Bytes written, or nil when something did not fit.
    @inline(__always) var result: Int? { overflow ? nil : count }

    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress else { return }
        if overflow || n > capacity &- count {
            overflow = true
            return
        }
        (base + count).copyMemory(from: src, byteCount: n)
        count &+= n
    }

    @inline(__always)
    mutating func write(_ s: StaticString) {
        write(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func write(byte: UInt8) {
        if overflow || count == capacity {
            overflow = true
            return
        }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    /// A non-negative integer in decimal.
    mutating func writeDecimal(_ value: Int) {
        var v = max(0, value)
        var digits = 1
        var x = v
        while x >= 10 {
            x /= 10
            digits &+= 1
        }
        if overflow || digits > capacity &- count {
            overflow = true
            return
        }
        var p = count &+ digits &- 1
        repeat {
            base.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 &+ v % 10), toByteOffset: p, as: UInt8.self)
            v /= 10
            p &-= 1
        } while v > 0
        count &+= digits
    }

    /// `name: value CRLF`.
    @inline(__always)
    mutating func writeHeader(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        write(name)
        write(": ")
        write(value)
        write("\r\n")
    }
}
