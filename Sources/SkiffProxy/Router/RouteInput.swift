/// What the router reads from a request, as raw bytes: a lookup builds no `String` and no array.
///
/// HTTP adapts its parsed head to this; Bolt and Dubbo expose their header maps (`service`, `method`, ...).
/// The buffers only need to stay valid for the duration of one `RouteTable.route(_:)` call; the router keeps none.
///
/// ```swift
/// struct HTTPHeadInput: RouteInput {
///     let head: ParsedHead
///     var host: UnsafeRawBufferPointer? { head.value(of: .host) }
///     var path: UnsafeRawBufferPointer? { head.pathWithoutQuery }
///     func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
///         head.value(named: lowercaseName)
///     }
/// }
/// ```
public protocol RouteInput {
    /// Host (HTTP Host header / :authority), possibly with ":port"; nil if absent.
    var host: UnsafeRawBufferPointer? { get }
    /// Path without query; nil for RPC protocols.
    var path: UnsafeRawBufferPointer? { get }
    /// Value of the first header with this name; `lowercaseName` is lower-case ASCII.
    func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer?
}
