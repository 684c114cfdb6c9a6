import SkiffJSON
import Testing

@testable import SkiffControl

/// The socket-free pieces of the control protocol: line splitting, request parsing, reply encoding.
@Suite struct ControlProtocolTests {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func lineReaderSplitsAcrossChunksAndSkipsBlankLines() {
        var reader = LineReader(limit: 100)
        reader.append(bytes("{\"a\":"))
        #expect(reader.next() == nil)
        reader.append(bytes("1}\r\n\n  \n{\"b\":2}\n{\"c\""))
        #expect(reader.next() == .line(bytes("{\"a\":1}")))
        #expect(reader.next() == .line(bytes("{\"b\":2}")))
        #expect(reader.next() == nil)
        #expect(reader.pendingCount == 4)
        #expect(reader.finish() == .line(bytes("{\"c\"")))
        #expect(reader.finish() == nil)
    }

    @Test func lineReaderLimit() {
        var exact = LineReader(limit: 4)
        exact.append(bytes("abcd\r\n"))
        #expect(exact.next() == .line(bytes("abcd")))

        var long = LineReader(limit: 4)
        long.append(bytes("abcde\nok\n"))
        #expect(long.next() == .tooLong)
        #expect(long.next() == nil)  // poisoned: the connection is closing

        var unterminated = LineReader(limit: 4)
        unterminated.append(bytes("abcd"))
        #expect(unterminated.next() == nil)
        unterminated.append(bytes("e"))
        #expect(unterminated.next() == .tooLong)  // known before the newline arrives
    }

    @Test func lineReaderCompactsItsBuffer() {
        var reader = LineReader(limit: 64)
        for i in 0..<10_000 {
            reader.append(bytes("{\"n\":\(i)}\n"))
            #expect(reader.next() == .line(bytes("{\"n\":\(i)}")))
        }
        #expect(reader.pendingCount == 0)
    }

    @Test func requestParsing() throws {
        let request = try ControlRequest.parse(
            line: bytes(
                #"{"id":"a","cmd":"host.set_state","cluster":"c1","n":5,"big":18446744073709551615,"f":0.5,"b":true}"#)
        ).get()
        #expect(request.id == .string("a"))
        #expect(request.cmd == "host.set_state")
        #expect(request.string("cluster") == "c1")
        #expect(request.string("n") == nil)
        #expect(request.int("n") == 5)
        #expect(request.uint64("big") == UInt64.max)
        #expect(request.int("big") == nil)
        #expect(request.double("f") == 0.5)
        #expect(request.bool("b") == true)
        #expect(request.value("missing") == nil)

        #expect(try ControlRequest.parse(line: bytes(#"{"id":null,"cmd":"x"}"#)).get().id == .none)
        #expect(try ControlRequest.parse(line: bytes(#"{"id":-7,"cmd":"x"}"#)).get().id == .int(-7))
        #expect(try ControlRequest.parse(line: bytes(#"{"cmd":"x"}"#)).get().id == .none)
    }

    @Test(arguments: [
        (#"{"id":true,"cmd":"x"}"#, ControlRequestID.none, "id must be an integer or a string, got true"),
        (#"{"id":1e3,"cmd":"x"}"#, .none, "id must be an integer or a string, got 1e3"),
        (#"{"id":4}"#, .int(4), #"missing "cmd""#),
        (#"{"id":"q","cmd":null}"#, .string("q"), "cmd must be a string, got null"),
        (#""hosts""#, .none, #"a request must be a JSON object, got the string "hosts""#),
        ("{'cmd':1}", .none, "bad json: line 1, column 2: strings must use double quotes"),
    ])
    func requestRejections(line: String, id: ControlRequestID, message: String) {
        #expect(ControlRequest.parse(line: bytes(line)) == .failure(.init(id: id, message: message)))
    }

    @Test func replyEncoding() {
        func line(_ id: ControlRequestID, _ result: ControlResult) -> String {
            String(decoding: ControlReply.encode(id: id, result: result).line, as: UTF8.self)
        }
        #expect(line(.int(1), .done) == #"{"id":1,"ok":true}"#)
        #expect(line(.int(1), .ok(fields: bytes("{}"))) == #"{"id":1,"ok":true}"#)
        #expect(line(.int(1), .ok(fields: bytes(" { } "))) == #"{"id":1,"ok":true}"#)
        #expect(
            line(.string("a\"b"), .ok(fields: bytes(#"{"x":1,"y":[2]}"#))) == #"{"id":"a\"b","ok":true,"x":1,"y":[2]}"#)
        #expect(line(.none, .error("no host \"h\"\n")) == #"{"id":null,"ok":false,"error":"no host \"h\"\n"}"#)
        #expect(
            line(.int(2), .ok([JSONMember(key: "state", value: .string("drain"))]))
                == #"{"id":2,"ok":true,"state":"drain"}"#)
        #expect(ControlReply.encode(id: .int(3), result: .ok(fields: bytes("[1]"))).ok == false)
        #expect(
            line(.int(3), .ok(fields: bytes("[1]")))
                == #"{"id":3,"ok":false,"error":"internal error: "#
                + #"the engine's reply for this command is not a JSON object"}"#
        )
    }

    @Test func outgoingLinesNeverContainRawNewlines() {
        var out = OutgoingBuffer()
        ControlReply.appendLine(bytes("{\n  \"a\": 1\r\n}"), to: &out)
        #expect(out.count == 14)
    }

    @Test func jsonWriterRoundTrips() throws {
        let text = #"{"s":"q\"\\\n\t\u0001é","n":-1.5e3,"a":[true,false,null],"o":{}}"#
        let value = try JSONParser.parse(text)
        let encoded = JSONWriter.encode(value)
        #expect(
            String(decoding: encoded, as: UTF8.self)
                == #"{"s":"q\"\\\n\t\u0001é","n":-1.5e3,"a":[true,false,null],"o":{}}"#)
        #expect(try JSONParser.parse(encoded) == value)
    }
}
