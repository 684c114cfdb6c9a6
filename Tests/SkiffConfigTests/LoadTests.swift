import Testing

@testable import SkiffConfig

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct LoadTests {
    /// Writes `text` to a fresh temporary file and returns its path.
    func temporaryFile(_ text: String) throws -> String {
        var template = Array("/tmp/skiff-config-test-XXXXXX.json".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 5) }
        try #require(fd >= 0)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        try #require(written == bytes.count)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func loadErrors(_ path: String) -> [ConfigError] {
        do {
            _ = try ConfigDecoder.load(path: path)
            return []
        } catch {
            return error.errors
        }
    }

    @Test func missingFile() {
        let errors = loadErrors("/nonexistent/skiff.json")
        #expect(errors == [ConfigError(path: #"config file "/nonexistent/skiff.json""#, message: "no such file")])
        #expect(errors.first?.description == #"config file "/nonexistent/skiff.json": no such file"#)
    }

    @Test func directoryIsRefused() {
        #expect(
            loadErrors("/tmp") == [
                ConfigError(path: #"config file "/tmp""#, message: "not a regular file (a directory); give the path of a config file")
            ])
    }

    /// A FIFO with no writer blocked the read (and `open` itself) for ever; a device never ends. Both are refused at
    /// once, before anything is read.
    @Test(.timeLimit(.minutes(1)))
    func fifoAndDeviceAreRefusedWithoutBlocking() throws {
        let fifo = "/tmp/skiff-config-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        // A reader that blocked on the FIFO (the old behaviour) is released after 3 s with "{}", so the test fails
        // with a wrong error rather than hanging.
        let releaser = Task.detached {
            for _ in 0..<30 {
                usleep(100_000)
                if Task.isCancelled { return }
            }
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 {
                _ = write(fd, "{}", 2)
                close(fd)
            }
        }
        defer { releaser.cancel() }
        #expect(
            loadErrors(fifo) == [
                ConfigError(path: "config file \"\(fifo)\"", message: "not a regular file (a FIFO); give the path of a config file")
            ])
        #expect(
            loadErrors("/dev/zero") == [
                ConfigError(
                    path: #"config file "/dev/zero""#,
                    message: "not a regular file (a character device); give the path of a config file")
            ])
    }

    @Test func syntaxErrorInFile() throws {
        let path = try temporaryFile("{\n  \"servers\": [\n    {\"listeners\": [],}\n  ]\n}\n")
        defer { unlink(path) }
        let errors = loadErrors(path)
        #expect(
            errors.map(\.description) == [
                "config file \"\(path)\": line 3, column 21: trailing comma (not allowed in JSON)"
            ])
    }

    @Test func semanticErrorsInFileHaveConfigPaths() throws {
        let path = try temporaryFile(#"{"servers":[{"listeners":[]}]}"#)
        defer { unlink(path) }
        #expect(loadErrors(path) == [ConfigError(path: "servers", message: "no listeners")])
    }

    @Test func syntaxErrorFromBytesUsesSource() {
        #expect(
            throws: ConfigErrors([
                ConfigError(
                    path: "<config>",
                    message:
                        "line 1, column 2: unexpected end of input (object opened at line 1, column 1 is not closed)")
            ])
        ) {
            try ConfigDecoder.decode(Array("{".utf8))
        }
        #expect(
            throws: ConfigErrors([
                ConfigError(path: "inline", message: "line 1, column 1: unexpected end of input (expected a value)")
            ])
        ) {
            try ConfigDecoder.decode([], source: "inline")
        }
    }
}
