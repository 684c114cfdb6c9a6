import Testing

@testable import SkiffJSON

/// The tolerant accessors readers of another process's JSON use: absent or mistyped members read as nil or zero, and
/// numbers out of range clamp instead of trapping (a frame from a misbehaving peer must not crash the console).
@Suite struct JSONValueAccessTests {
    @Test(
        "numbers convert, clamped to the type's range",
        arguments: [
            ("0", UInt64(0), 0), ("42", 42, 42), ("-7", 0, -7), ("2.9", 2, 2), ("-2.9", 0, -2),
            ("18446744073709551615", UInt64.max, Int.max), ("1e30", UInt64.max, Int.max), ("-1e30", 0, Int.min),
            ("9223372036854775808", 9_223_372_036_854_775_808, Int.max), ("1e-5", 0, 0),
        ])
    func numbers(text: String, unsigned: UInt64, signed: Int) {
        let v = JSONValue.number(text)
        #expect(v.uint == unsigned)
        #expect(v.int == signed)
    }

    @Test func absentAndMistypedMembers() throws {
        let v = try JSONParser.parse(#"{"a":"5","b":[1],"c":true,"a":6}"#)
        #expect(v["a"]?.stringValue == "5")  // the first of a repeated key
        #expect(v["a"]?.uint == 0)  // a string is not a number
        #expect(v["missing"] == nil)
        #expect(v["b"]?.arrayValue.count == 1)
        #expect(v["c"]?.arrayValue.isEmpty == true)
        #expect(v["c"]?.boolValue == true)
        #expect(JSONValue.array([])["a"] == nil)
    }
}
