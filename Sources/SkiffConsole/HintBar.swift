/// The key hints on the last line: every hint that fits, in order. When they do not all fit, the bar goes compact
/// (shorter words, one space apart) and then leaves out the least needed hints (movement first), so `q`, help and
/// the current view's actions stay visible at 80 columns. Pure.
struct Hint: Equatable {
    var key: String
    var what: String
    /// Shorter words for a narrow screen.
    var shortKey: String
    var short: String
    /// Left out first when even the compact bar does not fit (higher first).
    var dropRank: Int

    init(_ key: String, _ what: String, shortKey: String? = nil, short: String? = nil, dropRank: Int = 0) {
        self.key = key
        self.what = what
        self.shortKey = shortKey ?? key
        self.short = short ?? what
        self.dropRank = dropRank
    }
}

enum HintBar {
    struct Placed: Equatable {
        var key: String
        var what: String
        var x: Int
    }

    static func fit(_ hints: [Hint], width: Int) -> [Placed] {
        func length(_ list: [Hint], compact: Bool) -> Int {
            list.reduce(0) { $0 + (compact ? $1.shortKey.count + 1 + $1.short.count : $1.key.count + 1 + $1.what.count) }
                + max(0, list.count - 1) * (compact ? 1 : 2)
        }
        var list = hints
        var compact = false
        if length(list, compact: false) > width {
            compact = true
            while length(list, compact: true) > width && list.count > 1 {
                let victim = list.indices.max { a, b in
                    list[a].dropRank != list[b].dropRank ? list[a].dropRank < list[b].dropRank : a < b
                }!
                if list[victim].dropRank == 0 { list.removeLast() } else { list.remove(at: victim) }
            }
        }
        var out: [Placed] = []
        var x = 0
        for h in list {
            let key = compact ? h.shortKey : h.key
            let what = compact ? h.short : h.what
            out.append(Placed(key: key, what: what, x: x))
            x += key.count + 1 + what.count + (compact ? 1 : 2)
        }
        return out
    }
}
