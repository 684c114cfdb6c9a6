import CSkiffLinux
import Testing

@testable import SkiffNet

/// The poller's epoll literals are the kernel's values, as the C headers define them.
@Suite struct EpollConstantTests {
    @Test func literalsMatchTheHeaders() {
        #expect(Epoll.pollIn == UInt32(bitPattern: cskiff_EPOLLIN))
        #expect(Epoll.pollOut == UInt32(bitPattern: cskiff_EPOLLOUT))
        #expect(Epoll.pollErr == UInt32(bitPattern: cskiff_EPOLLERR))
        #expect(Epoll.pollHup == UInt32(bitPattern: cskiff_EPOLLHUP))
        #expect(Epoll.pollRdHup == UInt32(bitPattern: cskiff_EPOLLRDHUP))
        #expect(Epoll.edgeTriggered == UInt32(bitPattern: cskiff_EPOLLET))
        #expect(Epoll.exclusive == UInt32(bitPattern: cskiff_EPOLLEXCLUSIVE))
        #expect(Epoll.add == cskiff_EPOLL_CTL_ADD)
        #expect(Epoll.del == cskiff_EPOLL_CTL_DEL)
        #expect(Epoll.mod == cskiff_EPOLL_CTL_MOD)
    }
}
