import CSkiffLinux
import Glibc
import SkiffConfig

// skiff-fuzz TARGET [libFuzzer options...]
//
// Built with `-sanitize=fuzzer -DFUZZING` (fuzz/run does it), this is a coverage-guided libFuzzer driver. Built
// plainly (every `swift build`), it replays files given as arguments through the target, so a finding saved in
// fuzz/findings/ stays a one-command regression check.

nonisolated(unsafe) var selected: FuzzTarget?

func printError(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func usage() -> Never {
    let names = FuzzTargets.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
    printError("usage: skiff-fuzz TARGET [libFuzzer options | files to replay]\ntargets:\n\(names)")
    exit(2)
}

let args = CommandLine.arguments
guard args.count >= 2, let target = FuzzTargets.named(args[1]) else { usage() }
selected = target

#if FUZZING
// libFuzzer sees argv without the target name.
var argv: [UnsafeMutablePointer<CChar>?] = [strdup(args[0])] + args.dropFirst(2).map { strdup($0) } + [nil]
var argc = Int32(argv.count - 1)
let status = argv.withUnsafeMutableBufferPointer { buf -> Int32 in
    var p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buf.baseAddress
    return LLVMFuzzerRunDriver(&argc, &p) { data, size in
        selected!.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
exit(status)
#else
var replayed = 0
for path in args.dropFirst(2) {
    guard let bytes = ConfigDecoder.fileBytes(path) else {
        printError("skiff-fuzz: cannot read \(path)")
        exit(1)
    }
    bytes.withUnsafeBytes { target.run($0) }
    replayed += 1
}
print("\(target.name): replayed \(replayed) inputs without a crash")
#endif
