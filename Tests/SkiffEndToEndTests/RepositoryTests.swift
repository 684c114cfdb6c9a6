import Foundation
import SkiffTestSupport
import Testing

/// The repository stands on its own and its map stays true: every path `docs/architecture.md` names exists, and
/// nothing in the sources, tests, scripts or docs reads or cites files outside the checkout.
@Suite struct RepositoryTests {
    static let root = SkiffProcess.packageRoot

    /// Files under `dir` (relative to the root) whose name ends with one of `suffixes`.
    static func files(under dir: String, endingWith suffixes: [String]) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root + "/" + dir) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            if p.hasPrefix(".build") { e.skipDescendants(); continue }
            if suffixes.contains(where: { p.hasSuffix($0) }) { out.append(dir + "/" + p) }
        }
        return out
    }

    @Test func everyPathTheArchitectureMapNamesExists() throws {
        let text = try String(contentsOfFile: Self.root + "/docs/architecture.md", encoding: .utf8)
        var missing: [String] = []
        var named = 0
        for part in text.split(separator: "`").enumerated() where part.offset % 2 == 1 {
            let p = String(part.element)
            guard ["Sources/", "Tests/", "docs/", "bench/", "fuzz/"].contains(where: { p.hasPrefix($0) }) else { continue }
            let path = p.split(separator: " ").first.map(String.init) ?? p
            named += 1
            if !FileManager.default.fileExists(atPath: Self.root + "/" + path) { missing.append(path) }
        }
        #expect(named > 20)
        #expect(missing == [])
    }

    /// One concern per file: nothing in Sources grows past 600 lines (generated code would live outside Sources).
    @Test func noSourceFileIsOver600Lines() throws {
        var long: [String] = []
        for f in Self.files(under: "Sources", endingWith: [".swift", ".c", ".h"]) {
            let text = try String(contentsOfFile: Self.root + "/" + f, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            if lines > 600 { long.append("\(f): \(lines)") }
        }
        #expect(long == [])
    }

    @Test func nothingCitesFilesOutsideTheRepository() throws {
        var offenders: [String] = []
        let dirs = ["Sources", "Tests", "bench", "fuzz", "scripts", "docs", "configs", ".ci"]
        for dir in dirs {
            for f in Self.files(under: dir, endingWith: [".swift", ".py", ".sh", ".md", ".json", "run", ".service"]) {
                guard f != "Tests/SkiffEndToEndTests/RepositoryTests.swift",
                    let text = try? String(contentsOfFile: Self.root + "/" + f, encoding: .utf8)
                else { continue }
                for needle in ["../shared", "/work/shared", "shared/reference", "DESIGN.md"] where text.contains(needle) {
                    offenders.append("\(f): \(needle)")
                }
            }
        }
        #expect(offenders == [])
    }
}
