import CSkiffLinux

/// Epoll's event bits and control operations as literals: Linux's ABI values, which `EpollConstantTests` checks
/// against the C headers. Literals, not `static let`s initialised from the C constants: a lazily initialised global
/// costs a `swift_once` check on every use, and the poller reads these several times per event.
enum Epoll {
    @inline(__always) static var pollIn: UInt32 { 0x001 }
    @inline(__always) static var pollOut: UInt32 { 0x004 }
    @inline(__always) static var pollErr: UInt32 { 0x008 }
    @inline(__always) static var pollHup: UInt32 { 0x010 }
    @inline(__always) static var pollRdHup: UInt32 { 0x2000 }
    @inline(__always) static var edgeTriggered: UInt32 { 1 << 31 }
    @inline(__always) static var exclusive: UInt32 { 1 << 28 }
    @inline(__always) static var add: Int32 { 1 }
    @inline(__always) static var del: Int32 { 2 }
    @inline(__always) static var mod: Int32 { 3 }
}
