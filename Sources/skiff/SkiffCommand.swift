import ArgumentParser
import Glibc
import Logging
import SkiffConfig
import SkiffEngine

/// `skiff`: the sidecar's command line.
struct SkiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "A service-mesh sidecar proxy (MOSN-compatible config) with a live terminal console.",
        version: SkiffVersion.string,
        subcommands: [Start.self, Validate.self]
    )
}

enum SkiffVersion {
    static let string = "0.1.0"
}

/// Prints one line to stderr.
func printError(_ s: String) {
    var line = s
    if !line.hasSuffix("\n") { line += "\n" }
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
}

/// Loads and validates a config file, printing every problem on its own line; exits 1 on failure.
func loadConfigOrExit(_ path: String) throws -> SkiffConfiguration {
    do {
        return try ConfigDecoder.load(path: path)
    } catch let e as ConfigErrors {
        for err in e.errors { printError("error: \(err)") }
        throw ExitCode(1)
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

extension ThreadModel: ExpressibleByArgument {}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a config file: prints \"ok\" and a summary, or every error with its path.")

    @Option(name: .shortAndLong, help: "Config file (MOSN JSON).")
    var config: String

    func run() throws {
        let c = try loadConfigOrExit(config)
        print("ok: \(c.summary)")
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy in the foreground until SIGINT or SIGTERM.")

    @Option(name: .shortAndLong, help: "Config file (MOSN JSON).")
    var config: String

    @Option(name: .customLong("thread-model"), help: "Override every listener's thread model: rwloop or netpoll.")
    var threadModel: ThreadModel?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            printError("error: --log-level: unknown level \"\(logLevel)\"")
            throw ExitCode(1)
        }
        let cfg = try loadConfigOrExit(config)
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "skiff")
        // Block the stop signals before any thread starts, so every thread inherits the mask and only the main
        // thread's sigwait sees them.
        let signals = SignalSet([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        signals.block()
        let engine: Engine
        do {
            engine = try Engine(config: cfg, threadModelOverride: threadModel, logger: logger)
            try engine.start()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        logger.info("skiff \(SkiffVersion.string) started, pid \(getpid()), config \(config)")
        while true {
            let sig = signals.wait()
            if sig == SIGINT || sig == SIGTERM {
                logger.info("signal \(sig == SIGINT ? "SIGINT" : "SIGTERM"): stopping")
                break
            }
            logger.notice("signal \(sig) ignored (reload and log reopen arrive with the lifecycle work)")
        }
        engine.stop()
        logger.info("stopped")
    }
}

/// A set of signals to block and wait for synchronously.
struct SignalSet {
    var set = sigset_t()

    init(_ signals: [Int32]) {
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
    }

    func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    func wait() -> Int32 {
        var s = set
        var sig: Int32 = 0
        sigwait(&s, &sig)
        return sig
    }
}
