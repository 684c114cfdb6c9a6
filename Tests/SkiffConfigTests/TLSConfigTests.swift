import SkiffJSON
import Testing

@testable import SkiffConfig

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private typealias F = Fixture

/// The committed test certificates (`Tests/Fixtures/tls`, made by `scripts/make-test-certs.sh`) and JSON pieces
/// that use them.
enum TLSFixture {
    static var directory: String { String(configsDirectory().dropLast("/configs".count)) + "/Tests/Fixtures/tls" }
    static func path(_ name: String) -> String { directory + "/" + name }

    /// `"text"` as a JSON string literal.
    static func json(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// A server context with the RSA server certificate; `extra` is spliced in (start it with a comma).
    static func serverContext(_ extra: String = "") -> String {
        #"{"status":true,"cert_chain":\#(json(path("server.pem"))),"private_key":\#(json(path("server.key")))\#(extra)}"#
    }

    /// A tcp_proxy listener whose filter chain carries `chain` (e.g. `"tls_context":{...}`).
    static func listener(chain: String, extra: String = "") -> String {
        #"{"name":"l0","address":"127.0.0.1:0"\#(extra),"filter_chains":[{\#(chain),"filters":[{"type":"tcp_proxy","config":{"cluster":"c1"}}]}]}"#
    }

    /// A whole config with one TLS listener using `context` as its `tls_context`.
    static func serverConfig(_ context: String, listenerExtra: String = "") -> String {
        F.config(listeners: [listener(chain: #""tls_context":\#(context)"#, extra: listenerExtra)])
    }

    /// A whole config whose cluster c1 has `context` as its `tls_context`.
    static func clientConfig(_ context: String, clusterExtra: String = "") -> String {
        F.config(clusters: [F.cluster(extra: #","tls_context":\#(context)\#(clusterExtra)"#)])
    }

    static let serverPath = "servers[0].listeners[0].filter_chains[0].tls_context"
    static let clientPath = "cluster_manager.clusters[0].tls_context"
}

private typealias T = TLSFixture

/// `tls_context` on listeners: what is kept, what is off, and every refusal with its path.
@Suite struct TLSListenerConfigTests {
    @Test func serverContextDecodesEveryField() throws {
        let context = T.serverContext(
            #","ca_cert":\#(T.json(T.path("ca.pem"))),"verify_client":true,"require_client_cert":true,"server_name":"api.local","cipher_suites":"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-WITH-CHACHA20-POLY1305","ecdh_curves":"x25519,p256","min_version":"tlsv1_2","max_version":"tlsv1_3","alpn":"http/1.1","fall_back":false,"handshake_timeout":"3s","type":"""#
        )
        let config = try #require(decodeValid(T.serverConfig(context)))
        let expected = TLSContextConfig(
            path: T.serverPath, certChain: .file(T.path("server.pem")), privateKey: .file(T.path("server.key")),
            caCert: .file(T.path("ca.pem")), verifyClient: true, requireClientCert: true, serverName: "api.local",
            cipherSuites: ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"],
            ecdhCurves: ["X25519", "P-256"],
            minVersion: .tls12, maxVersion: .tls13, alpn: ["http/1.1"], handshakeTimeout: .seconds(3))
        #expect(config.allListeners[0].tls == ListenerTLSConfig(contexts: [expected]))
        #expect(config.warnings == [])
    }

    @Test func defaults() throws {
        let config = try #require(decodeValid(T.serverConfig(T.serverContext())))
        let context = try #require(config.allListeners[0].tls?.contexts.first)
        #expect(context.minVersion == .tls12)
        #expect(context.maxVersion == .tls13)
        #expect(context.handshakeTimeout == .seconds(10))
        #expect(context.caCert == nil && context.serverName == nil)
        #expect(!context.verifyClient && !context.requireClientCert && !context.insecureSkip)
        #expect(context.cipherSuites == [] && context.ecdhCurves == [] && context.alpn == [])
        #expect(config.allListeners[0].tls?.inspector == false)
    }

    /// MOSN's TCP sample writes `"tls_context": {}`: plaintext, no warning. `status: false` is off whatever else is
    /// written (files are not even looked at); content without any `status` is off too, with a warning.
    @Test func contextsWithoutStatusTrueAreOff() throws {
        for context in [#"{}"#, #"{"status":false}"#, #"{"status":false,"cert_chain":"/nonexistent.pem"}"#] {
            let config = try #require(decodeValid(T.serverConfig(context)), "\(context)")
            #expect(config.allListeners[0].tls == nil)
            #expect(config.warnings == [], "\(context)")
        }
        let config = try #require(decodeValid(T.serverConfig(#"{"cert_chain":"/nonexistent.pem"}"#)))
        #expect(config.allListeners[0].tls == nil)
        #expect(config.warnings.map(\.path) == [T.serverPath])
        #expect(config.warnings.first?.message.contains("add \"status\": true to use TLS") == true)
        let emptySet = try #require(decodeValid(F.config(listeners: [T.listener(chain: #""tls_context_set":[]"#)])))
        #expect(emptySet.allListeners[0].tls == nil)
    }

    @Test func offContextsStillHaveTheirKeysChecked() {
        #expect(
            errorLines(T.serverConfig(#"{"staus":true}"#)) == [
                #"\#(T.serverPath): unknown field "staus" (did you mean "status"?)"#
            ])
        #expect(
            errorLines(T.serverConfig(#"{"status":"true"}"#)) == [
                #"\#(T.serverPath).status: expected true or false, got the string "true""#
            ])
    }

    @Test func contextSetKeepsTheContextsThatAreOnInOrder() throws {
        let a =
            #"{"status":true,"cert_chain":\#(T.json(T.path("server-a.pem"))),"private_key":\#(T.json(T.path("server-a.key")))}"#
        let b =
            #"{"status":true,"cert_chain":\#(T.json(T.path("server-b-wildcard.pem"))),"private_key":\#(T.json(T.path("server-b-wildcard.key")))}"#
        let json = F.config(listeners: [T.listener(chain: #""tls_context_set":[\#(a),{"status":false},\#(b)]"#)])
        let config = try #require(decodeValid(json))
        let tls = try #require(config.allListeners[0].tls)
        let set = "servers[0].listeners[0].filter_chains[0].tls_context_set"
        #expect(tls.contexts.map(\.path) == ["\(set)[0]", "\(set)[2]"])
        #expect(
            tls.contexts.map(\.certChain) == [.file(T.path("server-a.pem")), .file(T.path("server-b-wildcard.pem"))])
        let allOff = F.config(listeners: [T.listener(chain: #""tls_context_set":[{"status":false},{}]"#)])
        #expect(try #require(decodeValid(allOff)).allListeners[0].tls == nil)
    }

    @Test func contextAndContextSetAreExclusive() {
        let chain = #""tls_context":\#(T.serverContext()),"tls_context_set":[\#(T.serverContext())]"#
        #expect(
            errorLines(F.config(listeners: [T.listener(chain: chain)])) == [
                "servers[0].listeners[0].filter_chains[0].tls_context_set: tls_context and tls_context_set are "
                    + "exclusive: give one of them"
            ])
        // An empty set beside a context asks for nothing.
        let withEmptySet = #""tls_context":\#(T.serverContext()),"tls_context_set":[]"#
        #expect(errorLines(F.config(listeners: [T.listener(chain: withEmptySet)])) == [])
    }

    @Test func inspectorNeedsTLS() throws {
        let on = try #require(decodeValid(T.serverConfig(T.serverContext(), listenerExtra: #","inspector":true"#)))
        #expect(on.allListeners[0].tls?.inspector == true)
        #expect(on.warnings == [])
        let plain = try #require(decodeValid(T.serverConfig("{}", listenerExtra: #","inspector":true"#)))
        #expect(plain.allListeners[0].tls == nil)
        #expect(plain.warnings.map(\.path) == ["servers[0].listeners[0].inspector"])
        #expect(plain.warnings.first?.message.hasPrefix("no effect: the listener has no tls_context") == true)
        let off = try #require(decodeValid(T.serverConfig(T.serverContext(), listenerExtra: #","inspector":false"#)))
        #expect(off.allListeners[0].tls?.inspector == false)
        #expect(
            errorLines(T.serverConfig("{}", listenerExtra: #","inspector":1"#)) == [
                "servers[0].listeners[0].inspector: expected true or false, got the number 1"
            ])
    }

    @Test func serverNeedsCertificateAndKey() {
        let missingKey = #"{"status":true,"cert_chain":\#(T.json(T.path("server.pem")))}"#
        #expect(
            errorLines(T.serverConfig(missingKey)) == [
                "\(T.serverPath).private_key: required on a listener: the certificate's private key"
            ])
        #expect(
            errorLines(T.serverConfig(#"{"status":true,"cert_chain":""}"#)) == [
                "\(T.serverPath).cert_chain: required on a listener: the certificate skiff presents",
                "\(T.serverPath).private_key: required on a listener: the certificate's private key",
            ])
    }

    @Test func insecureSkipOnAServerIsAWarning() throws {
        let config = try #require(decodeValid(T.serverConfig(T.serverContext(#","insecure_skip":true"#))))
        #expect(config.warnings.map(\.path) == ["\(T.serverPath).insecure_skip"])
        #expect(config.warnings.first?.message.hasPrefix("no effect on a listener") == true)
    }

    @Test func otherContextTypesAreRefused() {
        #expect(
            errorLines(T.serverConfig(T.serverContext(#","type":"sni_verify""#))) == [
                #"\#(T.serverPath).type: "sni_verify" not supported by skiff (only the default type "" is)"#
            ])
    }

    @Test func keysMatchCaseInsensitivelyAsEverywhereElse() throws {
        let context =
            #"{"Status":true,"Cert_Chain":\#(T.json(T.path("server.pem"))),"PRIVATE_KEY":\#(T.json(T.path("server.key")))}"#
        let config = try #require(decodeValid(T.serverConfig(context)))
        #expect(config.allListeners[0].tls?.contexts.first?.privateKey == .file(T.path("server.key")))
    }
}

/// Certificates and keys: files checked to be readable, inline PEM kept as written.
@Suite struct TLSPEMSourceTests {
    @Test func inlinePEMIsKeptAsWritten() throws {
        let cert = String(decoding: try #require(ConfigDecoder.fileBytes(T.path("server.pem"))), as: UTF8.self)
        let key = String(decoding: try #require(ConfigDecoder.fileBytes(T.path("server.key"))), as: UTF8.self)
        let ca = String(decoding: try #require(ConfigDecoder.fileBytes(T.path("ca.pem"))), as: UTF8.self)
        let context =
            #"{"status":true,"cert_chain":\#(T.json(cert)),"private_key":\#(T.json(key)),"ca_cert":\#(T.json(ca))}"#
        let config = try #require(decodeValid(T.serverConfig(context)))
        let decoded = try #require(config.allListeners[0].tls?.contexts.first)
        #expect(decoded.certChain == .inline(cert))
        #expect(decoded.privateKey == .inline(key))
        #expect(decoded.caCert == .inline(ca))
    }

    @Test func oneInlineAndOneFileIsRefused() throws {
        let key = String(decoding: try #require(ConfigDecoder.fileBytes(T.path("server.key"))), as: UTF8.self)
        let context = #"{"status":true,"cert_chain":\#(T.json(T.path("server.pem"))),"private_key":\#(T.json(key))}"#
        #expect(
            errorLines(T.serverConfig(context)) == [
                "\(T.serverPath).private_key: inline PEM while cert_chain is a file path: give both inline or both "
                    + "as file paths (MOSN reads them inline only when both are)"
            ])
    }

    @Test func unreadableFilesAreRefusedWithTheirPath() throws {
        let context =
            #"{"status":true,"cert_chain":"/nonexistent/server.pem","private_key":"/tmp","ca_cert":"/nonexistent/ca.pem"}"#
        #expect(
            errorLines(T.serverConfig(context)) == [
                #"\#(T.serverPath).cert_chain: cannot read "/nonexistent/server.pem": no such file"#,
                #"\#(T.serverPath).private_key: cannot read "/tmp": not a regular file (a directory)"#,
                #"\#(T.serverPath).ca_cert: cannot read "/nonexistent/ca.pem": no such file"#,
            ])
        let relative =
            #"{"status":true,"cert_chain":"nonexistent/server.pem","private_key":\#(T.json(T.path("server.key")))}"#
        let lines = errorLines(T.serverConfig(relative))
        #expect(lines.count == 1)
        #expect(
            lines.first?.hasPrefix(
                #"\#(T.serverPath).cert_chain: cannot read "nonexistent/server.pem": no such file (a relative path "#
                    + "is read from the working directory, ") == true, "\(lines)")
    }

    @Test func emptyFileIsRefused() throws {
        var template = Array("/tmp/skiff-tls-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        close(fd)
        let empty = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(empty) }
        let context = #"{"status":true,"cert_chain":\#(T.json(T.path("server.pem"))),"private_key":\#(T.json(empty))}"#
        #expect(
            errorLines(T.serverConfig(context)) == [
                #"\#(T.serverPath).private_key: cannot read \#(T.json(empty)): the file is empty"#
            ])
    }

    /// A relative path stays as written (the engine reads it relative to the working directory, as MOSN does).
    @Test func relativePathsStayRelative() throws {
        var buf = [CChar](repeating: 0, count: 4096)
        try #require(getcwd(&buf, buf.count) != nil)
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let depth = cwd.split(separator: "/").count
        func relative(_ absolute: String) -> String { String(repeating: "../", count: depth) + absolute.dropFirst() }
        let (cert, key) = (relative(T.path("server.pem")), relative(T.path("server.key")))
        let context = #"{"status":true,"cert_chain":\#(T.json(cert)),"private_key":\#(T.json(key))}"#
        let config = try #require(decodeValid(T.serverConfig(context)))
        #expect(config.allListeners[0].tls?.contexts.first?.certChain == .file(cert))
        #expect(config.allListeners[0].tls?.contexts.first?.privateKey == .file(key))
    }

    /// Every key format the fixtures hold is a readable file to the decoder (parsing them is OpenSSL's job).
    @Test func everyFixtureKeyFormatIsAccepted() throws {
        for (cert, key) in [
            ("server.pem", "server.pkcs1.key"), ("server-ecdsa.pem", "server-ecdsa.key"),
            ("server-ecdsa.pem", "server-ecdsa.sec1.key"), ("server-fullchain.pem", "server.key"),
        ] {
            let context =
                #"{"status":true,"cert_chain":\#(T.json(T.path(cert))),"private_key":\#(T.json(T.path(key)))}"#
            #expect(errorLines(T.serverConfig(context)) == [], "\(cert) \(key)")
        }
    }

    /// `config.dump` and the admin API show the config: inline private keys are hidden, file paths are not.
    @Test func inlinePrivateKeysAreRedacted() throws {
        let key = String(decoding: try #require(ConfigDecoder.fileBytes(T.path("server.key"))), as: UTF8.self)
        let cert = String(decoding: try #require(ConfigDecoder.fileBytes(T.path("server.pem"))), as: UTF8.self)
        let inline = #"{"status":true,"cert_chain":\#(T.json(cert)),"Private_Key":\#(T.json(key))}"#
        let text = F.config(
            listeners: [T.listener(chain: #""tls_context_set":[\#(inline)]"#)],
            clusters: [F.cluster(extra: #","tls_context":{"status":true,"insecure_skip":true,"private_key":"/k.pem"}"#)]
        )
        let shown = ConfigRedaction.redacted(try JSONParser.parse(Array(text.utf8)))
        let context = shown["servers"]?[0]?["listeners"]?[0]?["filter_chains"]?[0]?["tls_context_set"]?[0]
        #expect(context?["Private_Key"] == .string("<redacted>"))
        #expect(context?["cert_chain"] == .string(cert))
        #expect(shown["cluster_manager"]?["clusters"]?[0]?["tls_context"]?["private_key"] == .string("/k.pem"))
    }
}

/// Versions, ciphers, curves, ALPN: MOSN's spellings translated, what Skiff will not speak refused.
@Suite struct TLSParameterTests {
    func decoded(_ extra: String) throws -> TLSContextConfig {
        let config = try #require(decodeValid(T.serverConfig(T.serverContext(extra))))
        return try #require(config.allListeners[0].tls?.contexts.first)
    }

    func errors(_ extra: String) -> [String] { errorLines(T.serverConfig(T.serverContext(extra))) }

    @Test func versions() throws {
        #expect(try decoded(#","min_version":"tls_auto","max_version":"TLS_AUTO""#).minVersion == .tls12)
        #expect(try decoded(#","min_version":"TLSv1_3""#).minVersion == .tls13)
        #expect(try decoded(#","max_version":"tlsv1_2""#).maxVersion == .tls12)
        #expect(try decoded(#","min_version":"""#).minVersion == .tls12)
        for old in ["tlsv1_0", "tlsv1_1"] {
            #expect(
                errors(#","min_version":"\#(old)""#) == [
                    #"\#(T.serverPath).min_version: "\#(old)": TLS 1.0 and 1.1 are not supported (deprecated by RFC 8996); use tlsv1_2 or tlsv1_3"#
                ])
        }
        #expect(
            errors(#","max_version":"1.3""#) == [
                #"\#(T.serverPath).max_version: unknown TLS version "1.3" (expected tls_auto, tlsv1_2, tlsv1_3)"#
            ])
        #expect(
            errors(#","min_version":"tlsv1_3","max_version":"tlsv1_2""#) == [
                "\(T.serverPath).min_version: min_version tlsv1_3 is above max_version tlsv1_2"
            ])
    }

    @Test func mosnCipherNamesBecomeOpenSSLNames() throws {
        let mosn = [
            "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-WITH-CHACHA20-POLY1305", "ECDHE-RSA-WITH-CHACHA20-POLY1305",
            "ECDHE-RSA-AES256-CBC-SHA", "ECDHE-RSA-AES128-CBC-SHA", "ECDHE-ECDSA-AES256-CBC-SHA",
            "ECDHE-ECDSA-AES128-CBC-SHA", "RSA-AES256-CBC-SHA", "RSA-AES128-CBC-SHA", "AES256-GCM-SHA384",
            "AES128-GCM-SHA256",
        ]
        let openssl = [
            "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
            "ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA",
            "AES256-SHA", "AES128-SHA", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
        ]
        let joined = mosn.joined(separator: ":")
        #expect(try decoded(#","cipher_suites":"\#(joined)""#).cipherSuites == openssl)
        // Other names go to OpenSSL as written (it checks them, with the context's path); spaces are trimmed.
        #expect(
            try decoded(#","cipher_suites":" TLS_CHACHA20_POLY1305_SHA256 : DHE-RSA-AES128-GCM-SHA256""#)
                .cipherSuites == ["TLS_CHACHA20_POLY1305_SHA256", "DHE-RSA-AES128-GCM-SHA256"])
        #expect(try decoded(#","cipher_suites":"""#).cipherSuites == [])
    }

    @Test func tripleDESAndEmptyEntriesAreRefused() {
        for name in ["ECDHE-RSA-3DES-EDE-CBC-SHA", "RSA-3DES-EDE-CBC-SHA", "DES-CBC3-SHA"] {
            #expect(
                errors(#","cipher_suites":"ECDHE-RSA-AES128-GCM-SHA256:\#(name)""#) == [
                    #"\#(T.serverPath).cipher_suites: "\#(name)": 3DES is insecure (Sweet32) and not supported"#
                ])
        }
        #expect(
            errors(#","cipher_suites":"ECDHE-RSA-AES128-GCM-SHA256::AES128-SHA""#) == [
                #"\#(T.serverPath).cipher_suites: entry 2 is empty (entries are separated by ":")"#
            ])
    }

    @Test func curves() throws {
        #expect(
            try decoded(#","ecdh_curves":"X25519, p256,P384,p521,x448""#).ecdhCurves == [
                "X25519", "P-256", "P-384", "P-521", "X448",
            ])
        #expect(try decoded(#","ecdh_curves":"P-256,p-384,P-521""#).ecdhCurves == ["P-256", "P-384", "P-521"])
        #expect(
            errors(#","ecdh_curves":"x25519,brainpoolP256r1""#) == [
                #"\#(T.serverPath).ecdh_curves: unknown curve "brainpoolP256r1" (expected x25519, p256, p384, p521, x448 (or P-256, P-384, P-521))"#
            ])
        #expect(errors(#","ecdh_curves":"p256,P-256""#) == ["\(T.serverPath).ecdh_curves: P-256 given twice"])
    }

    @Test func alpn() throws {
        #expect(try decoded(#","alpn":"HTTP/1.1,sofa""#).alpn == ["http/1.1", "sofa"])
        // h2 only on Http2 listeners (this one is tcp_proxy).
        #expect(
            errors(#","alpn":"h2,http/1.1""#) == [
                #"servers[0].listeners[0].filter_chains[0].tls_context.alpn: "h2" is offered by Http2 listeners only (this one does not speak HTTP/2)"#
            ])
        #expect(
            errors(#","alpn":"http/1.1,spdy/3""#) == [
                #"\#(T.serverPath).alpn: unknown protocol "spdy/3" (expected h2, http/1.1 or sofa; MOSN drops unknown names silently, skiff refuses them)"#
            ])
        #expect(
            errors(#","alpn":"sofa,""#) == [#"\#(T.serverPath).alpn: entry 2 is empty (entries are separated by ",")"#])
    }

    /// An Http2 listener offers h2: added when its alpn is empty, required when it lists others.
    @Test func http2ListenersOfferH2() throws {
        func config(_ extra: String) -> String {
            let chain = #""tls_context":\#(T.serverContext(extra))"#
            let listener =
                #"{"name":"l0","address":"127.0.0.1:0","filter_chains":[{\#(chain),"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r1"}}]}]}"#
            return F.config(listeners: [listener], routers: [F.router()])
        }
        let added = try #require(decodeValid(config("")))
        #expect(added.allListeners[0].tls?.contexts.first?.alpn == ["h2"])
        let given = try #require(decodeValid(config(#","alpn":"h2""#)))
        #expect(given.allListeners[0].tls?.contexts.first?.alpn == ["h2"])
        #expect(
            errorLines(config(#","alpn":"http/1.1""#)) == [
                "servers[0].listeners[0].filter_chains[0].tls_context.alpn: an Http2 listener offers h2 (clients choose HTTP/2 by ALPN): add it or leave alpn empty"
            ])
    }

    @Test func handshakeTimeout() throws {
        #expect(try decoded(#","handshake_timeout":"250ms""#).handshakeTimeout == .milliseconds(250))
        #expect(errors(#","handshake_timeout":"0s""#) == ["\(T.serverPath).handshake_timeout: must be more than 0s"])
    }

    @Test func fallBackIsRefused() throws {
        #expect(try decoded(#","fall_back":false"#).path == T.serverPath)
        #expect(
            errors(#","fall_back":true"#) == [
                "\(T.serverPath).fall_back: true is not supported: skiff never falls back to plaintext (MOSN serves "
                    + "plaintext when the certificates fail to load); fix the certificates, or set \"status\": false "
                    + "for plaintext"
            ])
    }

    @Test func unimplementedMOSNFieldsAreRefusedUnlessEmpty() throws {
        _ = try decoded(#","sds_source":{},"extend_verify":{},"callbacks":[],"ticket":"""#)
        #expect(
            errors(#","sds_source":{"name":"x"}"#) == [
                "\(T.serverPath).sds_source: not supported by skiff: certificates from an SDS server; give cert_chain "
                    + "and private_key"
            ])
        #expect(
            errors(#","extend_verify":{"k":"v"}"#) == [
                "\(T.serverPath).extend_verify: not supported by skiff: settings for MOSN's extension context types; "
                    + "skiff has only the default type"
            ])
        #expect(
            errors(#","callbacks":["cb"]"#) == [
                "\(T.serverPath).callbacks: not supported by skiff: MOSN's extension hooks; skiff has none"
            ])
        #expect(
            errors(#","ticket":"0123456789abcdef""#) == [
                "\(T.serverPath).ticket: not supported by skiff: MOSN stores it and never uses it; skiff rotates its "
                    + "own session-ticket keys"
            ])
    }
}

/// `tls_context` on clusters, the shared `cluster_manager.tls_context`, and hosts' `tls_disable`.
@Suite struct TLSClusterConfigTests {
    @Test func clusterContextDecodes() throws {
        let context =
            #"{"status":true,"server_name":"127.0.0.1","ca_cert":\#(T.json(T.path("ca.pem"))),"cert_chain":\#(T.json(T.path("client.pem"))),"private_key":\#(T.json(T.path("client.key"))),"alpn":"sofa"}"#
        let config = try #require(decodeValid(T.clientConfig(context)))
        #expect(
            config.clusters[0].tls
                == TLSContextConfig(
                    path: T.clientPath, certChain: .file(T.path("client.pem")), privateKey: .file(T.path("client.key")),
                    caCert: .file(T.path("ca.pem")), serverName: "127.0.0.1", alpn: ["sofa"]))
        #expect(config.warnings == [])
        let off = try #require(decodeValid(T.clientConfig(#"{"status":false}"#)))
        #expect(off.clusters[0].tls == nil)
        #expect(try #require(decodeValid(T.clientConfig("{}"))).clusters[0].tls == nil)
    }

    @Test func clientNeedsAServerNameOrInsecureSkip() throws {
        #expect(
            errorLines(T.clientConfig(#"{"status":true}"#)) == [
                "\(T.clientPath).server_name: server_name is required to check the server's certificate (or "
                    + "insecure_skip: true)"
            ])
        let skip = try #require(decodeValid(T.clientConfig(#"{"status":true,"insecure_skip":true}"#)))
        #expect(skip.clusters[0].tls?.insecureSkip == true)
        #expect(skip.clusters[0].tls?.serverName == nil)
        #expect(skip.warnings == [])
    }

    @Test func clientCertificateAndKeyGoTogether() {
        let certOnly = #"{"status":true,"server_name":"a","cert_chain":\#(T.json(T.path("client.pem")))}"#
        #expect(
            errorLines(T.clientConfig(certOnly)) == [
                "\(T.clientPath).private_key: required with cert_chain: a client certificate and its key go together"
            ])
        let keyOnly = #"{"status":true,"server_name":"a","private_key":\#(T.json(T.path("client.key")))}"#
        #expect(
            errorLines(T.clientConfig(keyOnly)) == [
                "\(T.clientPath).cert_chain: required with private_key: a client certificate and its key go together"
            ])
    }

    /// MOSN's protocol-auto sample sets verify_client on a cluster: accepted, with a warning that it does nothing.
    @Test func serverOnlyFieldsOnAClusterAreWarnings() throws {
        let context = #"{"status":true,"insecure_skip":true,"verify_client":true,"require_client_cert":true}"#
        let config = try #require(decodeValid(T.clientConfig(context)))
        #expect(
            config.warnings.map(\.path) == ["\(T.clientPath).verify_client", "\(T.clientPath).require_client_cert"])
        #expect(config.warnings.allSatisfy { $0.message.hasPrefix("no effect on a cluster") })
    }

    @Test func clusterManagerTLSIsShared() throws {
        let shared = #","cluster_manager":{"tls_context":{"status":true,"server_name":"mesh.local"},"clusters":["#
        let clusters = [
            F.cluster("c1", extra: #","cluster_manager_tls":true"#),
            F.cluster("c2", hosts: #"[{"address":"127.0.0.1:8081"}]"#),
        ]
        let json = Self.withClusterManager(shared, clusters)
        let config = try #require(decodeValid(json))
        #expect(
            config.clusters[0].tls == TLSContextConfig(path: "cluster_manager.tls_context", serverName: "mesh.local"))
        #expect(config.clusters[1].tls == nil)
        #expect(config.warnings == [])
    }

    @Test func clusterManagerTLSNeedsASharedContextThatIsOn() {
        let cluster = F.cluster("c1", extra: #","cluster_manager_tls":true"#)
        #expect(
            errorLines(F.config(clusters: [cluster])) == [
                "cluster_manager.clusters[0].cluster_manager_tls: true, but cluster_manager has no tls_context"
            ])
        let off = Self.withClusterManager(
            #","cluster_manager":{"tls_context":{"status":false},"clusters":["#, [cluster])
        #expect(
            errorLines(off) == [
                "cluster_manager.clusters[0].cluster_manager_tls: true, but cluster_manager.tls_context is off (no "
                    + "\"status\": true); the cluster would be plaintext"
            ])
        // A shared context that is itself wrong is reported once, where it is written.
        let bad = Self.withClusterManager(#","cluster_manager":{"tls_context":{"status":true},"clusters":["#, [cluster])
        #expect(
            errorLines(bad) == [
                "cluster_manager.tls_context.server_name: server_name is required to check the server's certificate "
                    + "(or insecure_skip: true)"
            ])
    }

    @Test func ownContextBesideClusterManagerTLSIsIgnoredWithAWarning() throws {
        let cluster = F.cluster(
            "c1", extra: #","cluster_manager_tls":true,"tls_context":{"status":true,"server_name":"own.local"}"#)
        let json = Self.withClusterManager(
            #","cluster_manager":{"tls_context":{"status":true,"server_name":"mesh.local"},"clusters":["#, [cluster])
        let config = try #require(decodeValid(json))
        #expect(config.clusters[0].tls?.serverName == "mesh.local")
        #expect(config.warnings.map(\.path) == [T.clientPath])
        #expect(config.warnings.first?.message.hasPrefix("ignored: cluster_manager_tls is true") == true)
    }

    @Test func unusedSharedContextIsAWarning() throws {
        let json = Self.withClusterManager(
            #","cluster_manager":{"tls_context":{"status":true,"insecure_skip":true},"clusters":["#, [F.cluster()])
        let config = try #require(decodeValid(json))
        #expect(config.warnings.map(\.path) == ["cluster_manager.tls_context"])
        #expect(config.clusters[0].tls == nil)
    }

    @Test func hostTLSDisable() throws {
        let hosts = #"[{"address":"127.0.0.1:8080","tls_disable":true},{"address":"127.0.0.1:8081"}]"#
        let json = F.config(
            clusters: [F.cluster(extra: #","tls_context":{"status":true,"insecure_skip":true}"#, hosts: hosts)])
        let config = try #require(decodeValid(json))
        #expect(config.clusters[0].hosts.map(\.tlsDisable) == [true, false])
        let wrong = F.config(clusters: [F.cluster(hosts: #"[{"address":"127.0.0.1:8080","tls_disable":"yes"}]"#)])
        #expect(
            errorLines(wrong) == [
                #"cluster_manager.clusters[0].hosts[0].tls_disable: expected true or false, got the string "yes""#
            ])
    }

    /// `F.config` with the cluster manager opened by `opening` (which ends in `"clusters":[`), for a shared context.
    static func withClusterManager(_ opening: String, _ clusters: [String]) -> String {
        let base = F.config(listeners: [F.tcpListener()], clusters: [])
        let plain = #","cluster_manager":{"clusters":[]}"#
        return base.replacingFirst(plain, with: opening + clusters.joined(separator: ",") + "]}")
    }
}

/// `configs/tls-server.json` and `configs/tls-client.json`: the mTLS pair, with the fixture certificates (their
/// paths are relative to the repository root; here they are made absolute so the test runs from anywhere).
@Suite struct TLSShippedConfigTests {
    func load(_ name: String) throws -> SkiffConfiguration {
        let bytes = try #require(ConfigDecoder.fileBytes(configsDirectory() + "/" + name))
        let text = String(decoding: bytes, as: UTF8.self)
            .replacingAll(#""Tests/Fixtures/tls/"#, with: "\"" + T.directory + "/")
        return try ConfigDecoder.decode(text)
    }

    @Test func serverVerifiesClients() throws {
        let config = try load("tls-server.json")
        let tls = try #require(config.allListeners.first?.tls)
        #expect(tls.contexts.count == 1)
        let context = tls.contexts[0]
        #expect(context.certChain == .file(T.path("server.pem")))
        #expect(context.privateKey == .file(T.path("server.key")))
        #expect(context.caCert == .file(T.path("ca.pem")))
        #expect(context.verifyClient && context.requireClientCert)
        #expect(config.warnings == [])
    }

    @Test func clientPresentsItsCertificate() throws {
        let config = try load("tls-client.json")
        #expect(config.allListeners.first?.tls == nil)
        let context = try #require(config.cluster(named: "serverMesh")?.tls)
        #expect(context.serverName == "127.0.0.1")
        #expect(context.certChain == .file(T.path("client.pem")))
        #expect(context.privateKey == .file(T.path("client.key")))
        #expect(config.cluster(named: "serverMesh")?.hosts.map(\.address.description) == ["127.0.0.1:12061"])
        #expect(config.warnings == [])
    }

    /// A config shaped like MOSN's TLS examples (certificates in a `certs/` directory next to it): accepted, and
    /// when the files are not there the only errors are the files, each with its path.
    @Test func mosnShapedTLSConfigFailsOnlyOnMissingFiles() {
        let context =
            #"{"status":true,"ca_cert":"./certs/ca.pem","cert_chain":"./certs/cert.pem","private_key":"./certs/key.pem","verify_client":true,"server_name":"127.0.0.1","min_version":"tls_auto","max_version":"tls_auto"}"#
        let lines = errorLines(T.serverConfig(context))
        #expect(lines.count == 3, "\(lines)")
        for (line, (field, file)) in zip(
            lines, [("cert_chain", "cert.pem"), ("private_key", "key.pem"), ("ca_cert", "ca.pem")])
        {
            #expect(
                line.hasPrefix(#"\#(T.serverPath).\#(field): cannot read "./certs/\#(file)": no such file"#), "\(line)")
        }
    }
}

extension String {
    /// The text with every `old` replaced by `new`.
    fileprivate func replacingAll(_ old: String, with new: String) -> String { replacing(old, with: new) }

    /// The text with the first `old` replaced by `new`.
    fileprivate func replacingFirst(_ old: String, with new: String) -> String {
        guard let r = firstRange(of: old) else { return self }
        return self[..<r.lowerBound] + new + self[r.upperBound...]
    }
}

extension JSONValue {
    /// The i-th element of an array, nil for anything else.
    fileprivate subscript(_ i: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(i) else { return nil }
        return elements[i]
    }
}
