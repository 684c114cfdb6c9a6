#include "CSkiffLinux.h"
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <signal.h>
#include <fcntl.h>

const int cskiff_EPOLLIN = EPOLLIN, cskiff_EPOLLOUT = EPOLLOUT, cskiff_EPOLLERR = EPOLLERR, cskiff_EPOLLHUP = EPOLLHUP,
          cskiff_EPOLLRDHUP = EPOLLRDHUP, cskiff_EPOLLET = (int)EPOLLET, cskiff_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE,
          cskiff_EPOLL_CTL_ADD = EPOLL_CTL_ADD, cskiff_EPOLL_CTL_MOD = EPOLL_CTL_MOD, cskiff_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

int cskiff_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cskiff_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int cskiff_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    // The plain system call: epoll_wait()'s wrapper is a cancellation point (see cskiff_sendv).
    int n = (int)syscall(SYS_epoll_wait, epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = evs[i].events;
        data[i] = evs[i].data.u64;
    }
    return n;
}

int cskiff_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int cskiff_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int cskiff_eventfd_drain(int fd) {
    uint64_t v;
    return (int)read(fd, &v, sizeof v);
}

int cskiff_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int cskiff_peer_cred(int fd, uint32_t *uid, int32_t *pid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *uid = cred.uid;
    *pid = cred.pid;
    return 0;
}

int cskiff_thread_start(void *(*fn)(void *), void *arg, size_t stack_size, pthread_t *out) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (stack_size > 0) pthread_attr_setstacksize(&attr, stack_size);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(out, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc;
}

void cskiff_thread_set_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

int32_t cskiff_gettid(void) { return (int32_t)syscall(SYS_gettid); }

ssize_t cskiff_sendv(int fd, const struct iovec *iov, int iovcnt) {
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    // Through syscall(): glibc's sendmsg wrapper is a cancellation point (it switches asynchronous cancellation on
    // and off around the call, ~35 instructions) and Skiff never cancels a thread.
    return syscall(SYS_sendmsg, fd, &msg, MSG_NOSIGNAL);
}

ssize_t cskiff_read(int fd, void *buffer, size_t count) {
    // As cskiff_sendv: the plain system call, without read()'s cancellation bookkeeping.
    return syscall(SYS_read, fd, buffer, count);
}

int cskiff_pipe(int fds[2], int size, int nonblocking) {
    if (pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)) != 0) return -1;
    if (size > 0) (void)fcntl(fds[1], F_SETPIPE_SZ, size);
    int got = fcntl(fds[1], F_GETPIPE_SZ);
    return got > 0 ? got : 65536;
}

ssize_t cskiff_splice(int in_fd, int out_fd, size_t len, int nonblocking) {
    unsigned int flags = SPLICE_F_MOVE | (nonblocking ? SPLICE_F_NONBLOCK : 0);
    return splice(in_fd, NULL, out_fd, NULL, len, flags);
}

ssize_t cskiff_sendv_nonblocking(int fd, const struct iovec *iov, int iovcnt) {
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static _Thread_local void *cskiff_strand_of_thread;

void *cskiff_current_strand(void) { return cskiff_strand_of_thread; }

void cskiff_set_current_strand(void *strand) { cskiff_strand_of_thread = strand; }

static _Thread_local void *cskiff_flush_batch_of_thread;

void *cskiff_current_flush_batch(void) { return cskiff_flush_batch_of_thread; }

void cskiff_set_current_flush_batch(void *batch) { cskiff_flush_batch_of_thread = batch; }

static _Thread_local void *cskiff_buffer_cache_of_thread;

void *cskiff_current_buffer_cache(void) { return cskiff_buffer_cache_of_thread; }

void cskiff_set_current_buffer_cache(void *cache) { cskiff_buffer_cache_of_thread = cache; }

int cskiff_set_int_opt(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value);
}

int cskiff_get_so_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

ssize_t cskiff_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > 64) { errno = EINVAL; return -1; }
    struct iovec iov = { (void *)buf, len };
    char control[CMSG_SPACE(sizeof(int) * 64)];
    memset(control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t r;
    do { r = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t cskiff_recv_fds(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds) {
    *nfds = 0;
    struct iovec iov = { buf, cap };
    char control[CMSG_SPACE(sizeof(int) * 64)];
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t r;
    do { r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r < 0) return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *in = (int *)CMSG_DATA(c);
        for (int i = 0; i < n; i++) {
            if (*nfds < maxfds) fds[(*nfds)++] = in[i];
            else close(in[i]);
        }
    }
    return r;
}

pid_t cskiff_spawn_clean(const char *path, char *const argv[], char *const envp[]) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    // The child: only async-signal-safe calls until exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 ? max : 65536); fd++) close((int)fd);
    }
    execve(path, argv, envp);
    _exit(127);
}

int cskiff_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline) {
    // FUTEX_WAIT_BITSET takes an absolute deadline on CLOCK_MONOTONIC (FUTEX_WAIT's is relative).
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, deadline, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : errno;
}

int cskiff_futex_wake(uint32_t *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
}

// "000" to "999" as the three ASCII digits of each number in the low three bytes (little-endian: the text in order)
// and, in the high byte, how many of them are left once trailing zeros are dropped (at least one): the access log's
// numbers and Go-style duration fractions take three digits with one load.
#define CSKIFF_T(a, b, c) \
    ((uint32_t)('0' + (a)) | ((uint32_t)('0' + (b)) << 8) | ((uint32_t)('0' + (c)) << 16) | \
     ((uint32_t)((c) ? 3 : (b) ? 2 : 1) << 24))
#define CSKIFF_T10(a, b) \
    CSKIFF_T(a, b, 0), CSKIFF_T(a, b, 1), CSKIFF_T(a, b, 2), CSKIFF_T(a, b, 3), CSKIFF_T(a, b, 4), \
    CSKIFF_T(a, b, 5), CSKIFF_T(a, b, 6), CSKIFF_T(a, b, 7), CSKIFF_T(a, b, 8), CSKIFF_T(a, b, 9)
#define CSKIFF_T100(a) \
    CSKIFF_T10(a, 0), CSKIFF_T10(a, 1), CSKIFF_T10(a, 2), CSKIFF_T10(a, 3), CSKIFF_T10(a, 4), \
    CSKIFF_T10(a, 5), CSKIFF_T10(a, 6), CSKIFF_T10(a, 7), CSKIFF_T10(a, 8), CSKIFF_T10(a, 9)
static const uint32_t cskiff_triples[1000] = {
    CSKIFF_T100(0), CSKIFF_T100(1), CSKIFF_T100(2), CSKIFF_T100(3), CSKIFF_T100(4),
    CSKIFF_T100(5), CSKIFF_T100(6), CSKIFF_T100(7), CSKIFF_T100(8), CSKIFF_T100(9),
};
const uint32_t *const cskiff_digit_triples = cskiff_triples;
