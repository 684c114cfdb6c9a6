import Glibc
import SkiffConfig
import SkiffProtocol
import SkiffProxy

// skiff-microbench [--seconds-per-case 1]: nanoseconds per operation of the codecs and the router, in release
// (`swift run -c release skiff-microbench`). Each case runs in batches for about the given time after a warm-up;
// the table shows the median batch and the spread (min-max), so a noisy neighbour shows up as spread, not as a
// wrong median. Inputs are built once, outside the timed loops; nothing in them allocates (see bench/RESULTS.md).

@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Bytes at a stable address for the life of the process.
func pinned(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
    p.copyBytes(from: bytes)
    return UnsafeRawBufferPointer(p)
}

nonisolated(unsafe) var secondsPerCase = 1.0
if let i = CommandLine.arguments.firstIndex(of: "--seconds-per-case"), i + 1 < CommandLine.arguments.count {
    secondsPerCase = Double(CommandLine.arguments[i + 1]) ?? 1
}

func measure(_ name: String, _ body: () -> Void) {
    let batch = 10_000
    for _ in 0..<batch { body() }  // warm-up
    var samples: [Double] = []
    let end = nowNs() + UInt64(secondsPerCase * 1e9)
    repeat {
        let t0 = nowNs()
        for _ in 0..<batch { body() }
        samples.append(Double(nowNs() - t0) / Double(batch))
    } while nowNs() < end || samples.count < 5
    samples.sort()
    let median = samples[samples.count / 2]
    let line = "| \(name) | \(format1(median)) | \(format1(samples.first!))-\(format1(samples.last!)) | \(samples.count) |"
    print(line)
}

func format1(_ v: Double) -> String {
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

// MARK: - Inputs

let getHead = pinned(Array(
    ("GET /api/v1/users/42?expand=true HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\n"
        + "Accept: */*\r\nX-Request-Id: 7b4c1d2e\r\nConnection: keep-alive\r\n\r\n").utf8))
let postHead = pinned(Array(
    ("POST /orders HTTP/1.1\r\nHost: shop.example.com\r\nContent-Type: application/json\r\nContent-Length: 512\r\n"
        + "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=abcdef0123456789\r\n"
        + "X-Forwarded-For: 10.0.0.1\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
        + "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo\r\n\r\n").utf8))
let responseHead = pinned(Array(
    ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Fri, 27 Nov 2026 10:00:00 GMT\r\nContent-Type: application/json\r\n"
        + "Content-Length: 1234\r\nConnection: keep-alive\r\n\r\n").utf8))
let table = HTTPHeaderTable(capacity: 100)
nonisolated(unsafe) var requestHead = HTTPRequestHead()
nonisolated(unsafe) var respHead = HTTPResponseHead()
let renderOut = UnsafeMutableRawPointer.allocate(byteCount: 16384, alignment: 8)

// The reference Bolt and Dubbo frames (Tests/Vectors, as binary seeds in fuzz/corpus).
func corpusFile(_ path: String) -> [UInt8] { ConfigDecoder.fileBytes(path) ?? [] }
/// The package root: the part of the binary's path before `.build/` (or the current directory).
let root: String = {
    let p = CommandLine.arguments[0]
    if p.hasPrefix(".build/") { return "." }
    let parts = p.split(separator: "/", omittingEmptySubsequences: false)
    if let i = parts.firstIndex(of: ".build") { return parts[..<i].joined(separator: "/") }
    return "."
}()
let boltFrame = pinned(corpusFile(root + "/fuzz/corpus/bolt/request"))
let dubboFrame = pinned(corpusFile(root + "/fuzz/corpus/dubbo/request"))
nonisolated(unsafe) var info = RPCFrameInfo()
guard boltFrame.count > 0, dubboFrame.count > 0 else {
    print("error: run from the package (the Bolt/Dubbo vectors are read from fuzz/corpus)")
    exit(1)
}

// A router with 20 virtual hosts of 10 routes each; lookups hit the 15th host's 8th route (prefix), and a header
// match (the RPC shape).
var vhosts: [String] = []
for v in 0..<20 {
    var routes: [String] = []
    for r in 0..<10 {
        routes.append(#"{"match":{"prefix":"/svc\#(v)/r\#(r)/"},"route":{"cluster_name":"c"}}"#)
    }
    vhosts.append(#"{"name":"v\#(v)","domains":["host\#(v).example.com","*.v\#(v).example.net"],"routers":[\#(routes.joined(separator: ","))]}"#)
}
vhosts.append(#"{"name":"rpc","domains":["*"],"routers":[{"match":{"headers":[{"name":"service","value":"com.example.Echo:1.0"}]},"route":{"cluster_name":"c"}}]}"#)
let routerJSON = """
    {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[\(vhosts.joined(separator: ","))]}],
     "listeners":[{"name":"l","address":"127.0.0.1:1","filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
     "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:2"}]}]}}
    """
let config = try! ConfigDecoder.decode(routerJSON)
let routes = try! RouteTable(config: config.servers[0].routers[0])

struct Input: RouteInput {
    let host: UnsafeRawBufferPointer?
    let path: UnsafeRawBufferPointer?
    let service: UnsafeRawBufferPointer?
    func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        lowercaseName.elementsEqual("service".utf8) ? service : nil
    }
}
let httpInput = Input(
    host: pinned(Array("host15.example.com".utf8)), path: pinned(Array("/svc15/r7/items/9".utf8)), service: nil)
let wildcardInput = Input(
    host: pinned(Array("api.v12.example.net:8080".utf8)), path: pinned(Array("/svc12/r3/x".utf8)), service: nil)
let rpcInput = Input(host: nil, path: nil, service: pinned(Array("com.example.Echo:1.0".utf8)))
guard routes.route(httpInput) != nil, routes.route(wildcardInput) != nil, routes.route(rpcInput) != nil else {
    print("error: the benchmark router does not match its inputs")
    exit(1)
}

// MARK: - Cases

print("| case | ns/op (median) | min-max | batches of 10,000 |")
print("|---|---|---|---|")
measure("HTTP request head, GET, 5 headers: parse") {
    blackHole(HTTPParser.parseRequest(getHead, into: &requestHead, headers: table))
}
measure("HTTP request head, POST, 9 headers: parse") {
    blackHole(HTTPParser.parseRequest(postHead, into: &requestHead, headers: table))
}
_ = HTTPParser.parseRequest(getHead, into: &requestHead, headers: table)
measure("HTTP request head, GET: render for the upstream") {
    blackHole(HTTPRenderer.renderRequest(head: requestHead, headers: table, source: getHead, into: renderOut, capacity: 16384))
}
measure("HTTP request head, GET: find the end (scanner)") {
    var s = HTTPHeadScanner()
    blackHole(s.scan(getHead))
}
measure("HTTP response head, 5 headers: parse") {
    blackHole(HTTPParser.parseResponse(responseHead, into: &respHead, headers: table))
}
measure("Bolt v1 request (reference vector, \(boltFrame.count) B): frame length + parse") {
    blackHole(BoltCodec.frameLength(boltFrame, limits: .default))
    blackHole(BoltCodec.parse(boltFrame, into: &info))
}
measure("Dubbo request (reference vector, \(dubboFrame.count) B): frame length + parse") {
    blackHole(DubboCodec.frameLength(dubboFrame, limits: .default))
    blackHole(DubboCodec.parse(dubboFrame, into: &info))
}
measure("route lookup: exact domain (of 20 hosts), 8th prefix route") { blackHole(routes.route(httpInput)) }
measure("route lookup: wildcard domain with port, 4th prefix route") { blackHole(routes.route(wildcardInput)) }
measure("route lookup: RPC service header on the catch-all host") { blackHole(routes.route(rpcInput)) }
