import CSkiffLinux

/// Epoll constants normalised once.
enum Epoll {
    static let pollIn = UInt32(bitPattern: cskiff_EPOLLIN)
    static let pollOut = UInt32(bitPattern: cskiff_EPOLLOUT)
    static let pollErr = UInt32(bitPattern: cskiff_EPOLLERR)
    static let pollHup = UInt32(bitPattern: cskiff_EPOLLHUP)
    static let pollRdHup = UInt32(bitPattern: cskiff_EPOLLRDHUP)
    static let edgeTriggered = UInt32(bitPattern: cskiff_EPOLLET)
    static let exclusive = UInt32(bitPattern: cskiff_EPOLLEXCLUSIVE)
    static let add = cskiff_EPOLL_CTL_ADD
    static let mod = cskiff_EPOLL_CTL_MOD
    static let del = cskiff_EPOLL_CTL_DEL
}
