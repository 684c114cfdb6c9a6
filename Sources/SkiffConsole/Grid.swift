/// Text attributes of one cell; the terminal layer maps them to ncurses attributes.
public struct CellStyle: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellStyle(rawValue: 1 << 0)
    public static let reverse = CellStyle(rawValue: 1 << 1)
    public static let dim = CellStyle(rawValue: 1 << 2)
    public static let underline = CellStyle(rawValue: 1 << 3)
}

/// What a cell means, not which colour it is: the terminal layer picks colours (or none, for NO_COLOR).
public enum ColorRole: UInt8, Sendable, Hashable, CaseIterable {
    case normal, ok, warn, bad, dim, accent, header
}

public struct Cell: Sendable, Equatable {
    public var char: Character
    public var style: CellStyle
    public var role: ColorRole
    public init(_ char: Character = " ", style: CellStyle = [], role: ColorRole = .normal) {
        self.char = char
        self.style = style
        self.role = role
    }
}

/// A width x height array of cells. Every character takes one column; writes outside the grid are clipped.
public struct Grid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(), count: self.width * self.height)
    }

    public subscript(x x: Int, y y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes `string` from (x, y), clipped to the grid (and to `maxWidth` columns if given). Returns the columns used.
    @discardableResult
    public mutating func put(
        x: Int, y: Int, _ string: String, style: CellStyle = [], role: ColorRole = .normal, maxWidth: Int? = nil
    ) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = maxWidth.map { min(width, x + max(0, $0)) } ?? width
        var cx = x
        for ch in string {
            if cx >= limit { break }
            if cx >= 0 {
                cells[y * width + cx] = Cell(ch == "\n" || ch == "\t" ? " " : ch, style: style, role: role)
            }
            cx += 1
        }
        return max(0, min(cx, limit) - max(x, 0))
    }

    /// Fills a rectangle (clipped) with one character and style.
    public mutating func fill(
        x: Int = 0, y: Int = 0, width w: Int? = nil, height h: Int? = nil, _ char: Character = " ",
        style: CellStyle = [], role: ColorRole = .normal
    ) {
        let x0 = max(0, x)
        let y0 = max(0, y)
        let x1 = min(width, x + (w ?? width))
        let y1 = min(height, y + (h ?? height))
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 { cells[yy * width + xx] = Cell(char, style: style, role: role) }
        }
    }

    /// Adds `style` to the cells of a rectangle, keeping their characters (the selection bar).
    public mutating func addStyle(x: Int, y: Int, width w: Int, _ style: CellStyle) {
        guard y >= 0, y < height else { return }
        for xx in max(0, x)..<max(max(0, x), min(width, x + w)) { cells[y * width + xx].style.formUnion(style) }
    }

    /// One row as plain text, right-trimmed.
    public func line(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var s = String(cells[(y * width)..<(y * width + width)].map(\.char))
        while s.last == " " { s.removeLast() }
        return s
    }

    /// The plain text lines (right-trimmed), for tests and `screenshots-text/`.
    public func text() -> [String] { (0..<height).map(line) }

    /// `text()` joined with newlines.
    public var plainText: String { text().joined(separator: "\n") }
}
