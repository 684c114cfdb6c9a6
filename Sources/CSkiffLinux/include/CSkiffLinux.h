// Linux facilities Swift's Glibc module does not import (it is built without _GNU_SOURCE):
// epoll, eventfd, accept4, SO_PEERCRED, thread naming and stack sizes, pipe2 and splice.
#ifndef CSKIFF_LINUX_H
#define CSKIFF_LINUX_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>

int cskiff_epoll_create(void);
int cskiff_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits and copies out `events`/`data` pairs into two flat arrays (epoll_event is packed; flat arrays are easy in Swift).
int cskiff_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms);

int cskiff_eventfd(void);
int cskiff_eventfd_signal(int fd);
int cskiff_eventfd_drain(int fd);

int cskiff_accept4(int fd, struct sockaddr *addr, socklen_t *len);
/// Peer credentials of a Unix socket; returns 0 and fills uid/pid on success.
int cskiff_peer_cred(int fd, uint32_t *uid, int32_t *pid);

/// Starts a detached thread with the given stack size running `fn(arg)`.
int cskiff_thread_start(void *(*fn)(void *), void *arg, size_t stack_size, pthread_t *out);
void cskiff_thread_set_name(const char *name);
/// Linux thread id of the caller (for per-thread CPU in /proc).
int32_t cskiff_gettid(void);

/// Sleeps while *word == expected, until woken or until the absolute CLOCK_MONOTONIC `deadline` (NULL: none);
/// 0 when woken, else the errno (EAGAIN: the word had moved; EINTR; ETIMEDOUT).
int cskiff_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline);
/// Wakes up to `count` threads sleeping on `word`; returns how many.
int cskiff_futex_wake(uint32_t *word, int count);

/// 1000 entries: the three ASCII digits of 0-999 (leading zeros kept) in the low bytes, in text order when stored
/// little-endian, and in the high byte how many remain once trailing zeros are dropped (at least 1).
extern const uint32_t *const cskiff_digit_triples;

/// writev with MSG_NOSIGNAL semantics (sendmsg), so a closed peer gives EPIPE, never SIGPIPE.
ssize_t cskiff_sendv(int fd, const struct iovec *iov, int iovcnt);
/// read(2) as the plain system call (no cancellation point: Skiff never cancels a thread).
ssize_t cskiff_read(int fd, void *buffer, size_t count);

/// A pipe pair, O_CLOEXEC (and O_NONBLOCK when `nonblocking`), sized to about `size` bytes with F_SETPIPE_SZ when
/// the system allows it (a refusal keeps the default size). fds[0] reads, fds[1] writes. Returns the pipe's capacity
/// in bytes, or -1 with errno when no pipe could be made (EMFILE, ENFILE).
int cskiff_pipe(int fds[2], int size, int nonblocking);
/// splice(2) with SPLICE_F_MOVE (and SPLICE_F_NONBLOCK when `nonblocking`), no offsets: bytes moved, 0 at the
/// source's EOF, -1 with errno.
ssize_t cskiff_splice(int in_fd, int out_fd, size_t len, int nonblocking);

/// The same, without blocking on a blocking socket (MSG_DONTWAIT): rwloop's direct writes, which must never wait.
ssize_t cskiff_sendv_nonblocking(int fd, const struct iovec *iov, int iovcnt);

/// The rwloop strand the calling thread is running (an opaque pointer), or NULL: a thread-local, so a thread knows
/// whether it is inside a strand without asking the strand.
void *cskiff_current_strand(void);
void cskiff_set_current_strand(void *strand);
/// The batch of deferred rwloop direct writes the calling thread will flush when its current handler work is done
/// (a strand's run, a worker shard's batch), or NULL.
void *cskiff_current_flush_batch(void);
void cskiff_set_current_flush_batch(void *batch);
/// The calling thread's cache of free buffers (SkiffNet's BufferThreadCache), or NULL.
void *cskiff_current_buffer_cache(void);
void cskiff_set_current_buffer_cache(void *cache);

/// TCP_INFO-free helpers.
int cskiff_set_int_opt(int fd, int level, int name, int value);
int cskiff_get_so_error(int fd);

/// Sends `len` bytes with up to 64 descriptors attached (SCM_RIGHTS) in one sendmsg; returns bytes sent or -1.
ssize_t cskiff_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/// Receives up to `cap` bytes and up to `maxfds` descriptors (made close-on-exec); *nfds gets how many arrived.
/// Returns bytes received, 0 at EOF, -1 on error.
ssize_t cskiff_recv_fds(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds);

/// Starts `path` with `argv` and `envp` in a child process that inherits no descriptor but stdin, stdout and stderr
/// and no blocked signal (a binary upgrade's successor: it must not keep this process's connections open). Returns
/// the child's pid, or -1 with errno when fork failed; an exec failure shows as the child's exit status 127.
pid_t cskiff_spawn_clean(const char *path, char *const argv[], char *const envp[]);

/// libFuzzer's entry for programs with their own main (linked only into -sanitize=fuzzer builds of skiff-fuzz).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Option and flag constants as plain ints (the Swift importer does not see all of them).
extern const int cskiff_EPOLLIN, cskiff_EPOLLOUT, cskiff_EPOLLERR, cskiff_EPOLLHUP, cskiff_EPOLLRDHUP,
    cskiff_EPOLLET, cskiff_EPOLLEXCLUSIVE, cskiff_EPOLL_CTL_ADD, cskiff_EPOLL_CTL_MOD, cskiff_EPOLL_CTL_DEL;

#endif
