import Testing

@testable import SkiffJSON

@Suite struct JSONParserTests {
    @Test func parsesValuesKeepingOrderAndNumberText() throws {
        let v = try JSONParser.parse(
            #"{"b": [1, 1.5, -0, 1e99, 2E-3], "a": {"x": null, "y": true, "z": false}, "s": "\u00e9\ud83d\ude00\n\"\/"}"#
        )
        guard case .object(let members) = v else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["b", "a", "s"])
        #expect(
            members[0].value == .array([.number("1"), .number("1.5"), .number("-0"), .number("1e99"), .number("2E-3")]))
        #expect(
            members[1].value
                == .object([
                    JSONMember(key: "x", value: .null), JSONMember(key: "y", value: .bool(true)),
                    JSONMember(key: "z", value: .bool(false)),
                ]))
        #expect(members[2].value == .string("é😀\n\"/"))
    }

    @Test func keepsDuplicateKeys() throws {
        let v = try JSONParser.parse(#"{"a":1,"A":2,"a":3}"#)
        guard case .object(let members) = v else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["a", "A", "a"])
    }

    @Test func skipsByteOrderMarkAndWhitespace() throws {
        #expect(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array(" \t\r\n[]\n".utf8)) == .array([]))
    }

    struct SyntaxCase: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { message }
    }

    static let syntaxCases: [SyntaxCase] = [
        .init(text: "", line: 1, column: 1, message: "unexpected end of input (expected a value)"),
        .init(text: #"{"a":1,}"#, line: 1, column: 7, message: "trailing comma (not allowed in JSON)"),
        .init(text: "[1,\n 2,\n]", line: 2, column: 3, message: "trailing comma (not allowed in JSON)"),
        .init(
            text: "{\n  \"a\": 1\n  \"b\": 2\n}", line: 3, column: 3,
            message: "expected ',' or '}' after object member, found '\"'"),
        .init(text: "{\n  // note\n  \"a\": 1\n}", line: 2, column: 3, message: "comments are not allowed in JSON"),
        .init(text: #"{"a": "abc"#, line: 1, column: 7, message: "unterminated string"),
        .init(
            text: "{\"a\": \"abc\n\"}", line: 1, column: 11,
            message: "control character U+000A in string (missing closing quote?)"),
        .init(text: #"{"a": 01}"#, line: 1, column: 7, message: "invalid number: leading zeros are not allowed"),
        .init(text: #"{"a": 1.}"#, line: 1, column: 9, message: "invalid number: expected a digit after '.'"),
        .init(text: #"{"a": -}"#, line: 1, column: 8, message: "invalid number: expected a digit after '-'"),
        .init(text: #"{"a": +1}"#, line: 1, column: 7, message: "invalid number: a number cannot start with '+'"),
        .init(text: "{'a': 1}", line: 1, column: 2, message: "strings must use double quotes"),
        .init(text: "{a: 1}", line: 1, column: 2, message: "object keys must be strings in double quotes"),
        .init(
            text: #"{"a": True}"#, line: 1, column: 7,
            message: #"unexpected word "True" (literals are true, false, null; strings need double quotes)"#),
        .init(text: #"{"a" 1}"#, line: 1, column: 6, message: #"expected ':' after key "a", found '1'"#),
        .init(
            text: #"{"a": [1, 2"#, line: 1, column: 12,
            message: "unexpected end of input (array opened at line 1, column 7 is not closed)"),
        .init(text: #"["\q"]"#, line: 1, column: 3, message: #"invalid escape \q in string"#),
        .init(text: #"["\u12G4"]"#, line: 1, column: 3, message: #"invalid \u escape (expected 4 hex digits)"#),
        .init(text: #"["\ud800x"]"#, line: 1, column: 3, message: #"invalid \u escape: lone surrogate U+D800"#),
        .init(text: "{} x", line: 1, column: 4, message: "unexpected 'x' after the JSON value"),
        .init(
            text: "{\"é\": x}", line: 1, column: 7,
            message: #"unexpected word "x" (literals are true, false, null; strings need double quotes)"#),
        .init(text: "[1 2]", line: 1, column: 4, message: "expected ',' or ']' after array element, found '2'"),
        .init(text: "\t{\"a\":\t]", line: 1, column: 8, message: "unexpected ']' (expected a value)"),
    ]

    @Test(arguments: syntaxCases)
    func reportsSyntaxErrorsWithLineAndColumn(_ c: SyntaxCase) {
        do {
            let value = try JSONParser.parse(c.text)
            Issue.record("parsed as \(value)")
        } catch {
            #expect(
                error.withAnyOffset == JSONParseError(line: c.line, column: c.column, message: c.message, offset: 0))
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }  // surrogate
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC0, 0xAF, 0x22]) }  // overlong
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError(line: 1, column: 257, message: "nesting deeper than 256 levels", offset: 256)) {
            try JSONParser.parse(deep)
        }
    }
}

extension JSONParseError {
    /// The same error with the offset zeroed, so tables can compare line, column and message only.
    var withAnyOffset: JSONParseError { JSONParseError(line: line, column: column, message: message, offset: 0) }
}
