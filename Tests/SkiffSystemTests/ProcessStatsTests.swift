import Glibc
import Testing

@testable import SkiffSystem

/// `ProcessStats` reads `/proc/self/stat` by position after the command's closing parenthesis (a command may hold
/// spaces and parentheses), `btime` from `/proc/stat`, and agrees with what the kernel says of this process.
@Suite struct ProcessStatsTests {
    @Test func statFieldsAreCountedFromTheLastParenthesis() throws {
        // Fields 3..24 of a real line, the command "(a b) (c)" written to confuse a naive split.
        let line =
            "4242 ((a b) (c)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 125 0 0 20 0 8 0 123456 819200000 11800 "
            + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let f = try #require(ProcessStats.statFields(Array(line.utf8)))
        #expect(f == ProcessStats.StatFields(utime: 250, stime: 125, startTicks: 123456, vsize: 819_200_000, rssPages: 11800))
        #expect(ProcessStats.statFields(Array("4242 (x) S 1 2".utf8)) == nil)
    }

    @Test func bootTimeIsTheBtimeLine() {
        let text = "cpu  1 2 3\nintr 5 6 7 btime 99\nctxt 100\nbtime 1700000000\nprocesses 5\n"
        #expect(ProcessStats.bootTimeSeconds(Array(text.utf8)) == 1_700_000_000)
        #expect(ProcessStats.bootTimeSeconds(Array("cpu 1\n".utf8)) == nil)
    }

    @Test func currentFiguresAgreeWithTheKernel() throws {
        let s = try #require(ProcessStats.current())
        let now = Double(time(nil))
        #expect(s.startTimeSeconds <= now + 1 && s.startTimeSeconds > now - 86400 * 30)
        #expect(s.residentMemoryBytes > 1 << 20 && s.virtualMemoryBytes >= s.residentMemoryBytes)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #expect(s.maxFDs == UInt64(limit.rlim_cur))
        // 64 more descriptors show up (give or take what tests running beside this one open and close).
        let before = try #require(ProcessStats.current()).openFDs
        let fds = (0..<64).map { _ in open("/dev/null", O_RDONLY) }
        defer { for fd in fds { close(fd) } }
        let after = try #require(ProcessStats.current()).openFDs
        #expect(after - before >= 48 && after - before <= 96, "\(before) -> \(after)")
        // 100 ms of this thread's CPU shows in the process's (ticks of 10 ms; other threads only add to it).
        let cpuBefore = try #require(ProcessStats.current()).cpuSeconds
        let burnStart = ThreadCPUClock.nanoseconds()
        while ThreadCPUClock.nanoseconds() - burnStart < 100_000_000 {}  // the clock reads are the work
        let cpuAfter = try #require(ProcessStats.current()).cpuSeconds
        #expect(cpuAfter - cpuBefore >= 0.08, "\(cpuBefore) -> \(cpuAfter)")
    }
}
