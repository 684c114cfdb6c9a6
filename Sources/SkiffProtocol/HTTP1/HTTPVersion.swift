/// The HTTP/1.x versions the codec speaks; any other version is refused (505 for requests, 502 for responses).
public enum HTTPVersion: UInt8, Sendable {
    case http10
    case http11
}
