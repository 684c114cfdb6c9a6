import SkiffHTTP2
import SkiffNet

extension HTTP2Session {
    /// Writes everything the session has to send to `connection`, packed into pooled buffers (one writev takes many
    /// frames). Called on the connection's executor; libnghttp2's drain errors surface at the next `receive`.
    func write(to connection: Connection) {
        var out: ByteBuffer?
        _ = drainOutput { chunk in
            var rest = chunk
            while rest.count > 0 {
                if out == nil || out!.writableBytes == 0 {
                    if let full = out { connection.write(full) }
                    out = connection.bufferPool.acquire()
                }
                let n = min(rest.count, out!.writableBytes)
                out!.write(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
        }
        if let last = out { connection.write(last) }
    }
}
