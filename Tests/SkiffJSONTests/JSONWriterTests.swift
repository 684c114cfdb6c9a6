import Testing

@testable import SkiffJSON

@Suite("JSONWriter")
struct JSONWriterTests {
    static func text(_ build: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter(capacity: 64)
        build(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("nested objects and arrays get their commas")
    func nesting() {
        let json = Self.text { json in
            json.beginObject()
            json.key("seq")
            json.uint(7)
            json.key("empty")
            json.beginObject()
            json.endObject()
            json.key("none")
            json.beginArray()
            json.endArray()
            json.key("clusters")
            json.beginArray()
            json.beginObject()
            json.key("name")
            json.string("backend")
            json.key("hosts")
            json.beginArray()
            json.string("a")
            json.string("b")
            json.endArray()
            json.key("healthy")
            json.bool(true)
            json.endObject()
            json.beginObject()
            json.key("name")
            json.null()
            json.endObject()
            json.endArray()
            json.key("matrix")
            json.beginArray()
            json.beginArray()
            json.int(1)
            json.int(-2)
            json.endArray()
            json.beginArray()
            json.endArray()
            json.beginArray()
            json.bool(false)
            json.endArray()
            json.endArray()
            json.key(dynamic: String("dynamic \"key\""))
            json.double(0.5, decimals: 1)
            json.endObject()
        }
        #expect(
            json == #"{"seq":7,"empty":{},"none":[],"clusters":[{"name":"backend","hosts":["a","b"],"healthy":true},"#
                + #"{"name":null}],"matrix":[[1,-2],[],[false]],"dynamic \"key\"":0.5}"#)
    }

    @Test("top-level values in sequence are comma-separated")
    func topLevelSequence() {
        #expect(
            Self.text {
                $0.uint(1)
                $0.string("x")
                $0.null()
            } == #"1,"x",null"#)
    }

    @Test(
        "strings are escaped",
        arguments: [
            ("plain", #""plain""#),
            ("", #""""#),
            ("say \"hi\"", #""say \"hi\"""#),
            ("C:\\path", #""C:\\path""#),
            ("a\nb\rc\td", #""a\nb\rc\td""#),
            ("\u{08}\u{0C}", #""\b\f""#),
            ("\u{00}\u{01}\u{1F}", #""\u0000\u0001\u001f""#),
            ("\u{7F}/", "\"\u{7F}/\""),
            ("héllo ✓ 🚀", #""héllo ✓ 🚀""#),
            ("\"\\\n", #""\"\\\n""#),
        ])
    func escaping(input: String, expected: String) {
        #expect(Self.text { $0.string(input) } == expected)
        #expect(
            Self.text {
                $0.beginObject()
                $0.key(dynamic: input)
                $0.int(1)
                $0.endObject()
            } == "{\(expected):1}")
        // Replies assembled around pre-encoded bytes escape the same way.
        var out: [UInt8] = []
        JSONWriter.appendString(input, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test("a parsed value is written back as it was parsed, numbers as their text")
    func parsedValues() throws {
        let text = #"{"s":"q\"\\\n\t\u0001é","n":-1.5e3,"big":18446744073709551616,"a":[true,false,null,[]],"o":{},"d":{"a":1,"a":2}}"#
        let value = try JSONParser.parse(text)
        #expect(String(decoding: JSONWriter.encode(value), as: UTF8.self) == text)
        // Inside a structure the writer's commas still apply.
        #expect(
            Self.text {
                $0.beginArray()
                $0.uint(1)
                $0.value(value["a"]!)
                $0.value(.number("2.50"))
                $0.endArray()
            } == "[1,[true,false,null,[]],2.50]")
    }

    @Test(
        "integers",
        arguments: [
            (0, "0"), (7, "7"), (-1, "-1"), (10, "10"), (-1_234_567_890, "-1234567890"),
            (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808"),
        ])
    func integers(value: Int, expected: String) {
        #expect(Self.text { $0.int(value) } == expected)
    }

    @Test(
        "unsigned integers",
        arguments: [
            (UInt64(0), "0"), (9, "9"), (10, "10"), (99, "99"), (100, "100"), (1_000_000_007, "1000000007"),
            (10_000_000_000_000_000_000, "10000000000000000000"), (UInt64.max, "18446744073709551615"),
        ])
    func unsignedIntegers(value: UInt64, expected: String) {
        #expect(Self.text { $0.uint(value) } == expected)
    }

    @Test(
        "doubles with fixed decimals",
        arguments: [
            (0.0, 2, "0.00"), (3.14159, 2, "3.14"), (3.14159, 4, "3.1416"), (2.5, 0, "3"), (-2.5, 0, "-3"),
            (-1.25, 3, "-1.250"), (0.999, 2, "1.00"), (9.9999, 3, "10.000"), (-0.001, 2, "0.00"), (-0.0, 1, "0.0"),
            (123.456, 1, "123.5"), (0.05, 1, "0.1"), (1_000_000.5, 1, "1000000.5"), (42, -3, "42"),
            (0.000123, 6, "0.000123"), (1e20, 2, "1e+20"), (.nan, 2, "null"), (.infinity, 2, "null"),
            (-.infinity, 0, "null"),
        ])
    func doubles(value: Double, decimals: Int, expected: String) {
        #expect(Self.text { $0.double(value, decimals: decimals) } == expected)
    }

    @Test("reset empties the buffer and keeps its capacity")
    func reset() {
        var writer = JSONWriter(capacity: 16)
        writer.beginArray()
        for index in 0..<1000 { writer.int(index) }
        writer.endArray()
        let capacity = writer.bytes.capacity
        writer.reset()
        #expect(writer.bytes.isEmpty)
        #expect(writer.bytes.capacity == capacity)
        writer.uint(1)
        writer.uint(2)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "1,2")
    }
}
