/// Setting header-map entries on a Bolt request the proxy forwards (the trace context, docs/tracing.md): the frame is
/// copied with every entry of an edited key left out and the new entries appended, the header length updated and a
/// v2 frame's CRC32 recomputed. The class name and the content are copied as they are.
///
/// Stateless; reads the caller's frame, writes the caller's buffer.
extension BoltFraming {
    /// Writes `frame` (a complete frame `parse` accepted) with `edits` set into `out`; returns its length, or nil
    /// when it does not fit in `capacity` or the header map would pass 64 KiB.
    static func writeWithHeaders(
        _ frame: UnsafeRawBufferPointer, _ edits: RPCHeaderEdits, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        guard frame.count >= BoltLayout.minimumHeaderLength else { return nil }
        let isV2 = frame[0] == Bolt.ProtocolCode.v2
        let type = frame[BoltLayout.typeOffset(isV2: isV2)]
        let layout = BoltLayout(isV2: isV2, isRequest: type != Bolt.CommandType.response)
        let crc = hasCRC(frame, layout)
        let mapStart = layout.headerLength + Int(RPCWire.u16(frame, at: layout.classLengthOffset))
        let mapEnd = mapStart + Int(RPCWire.u16(frame, at: layout.headerLengthOffset))
        let contentEnd = mapEnd + Int(RPCWire.u32(frame, at: layout.contentLengthOffset))
        guard contentEnd <= frame.count, contentEnd + edits.bytes + (crc ? 4 : 0) <= capacity else { return nil }

        out.copyMemory(from: frame.baseAddress!, byteCount: mapStart)
        var w = mapStart
        var p = mapStart
        while p + 4 <= mapEnd {
            let entryStart = p
            let keyLength = Int(RPCWire.u32(frame, at: p))
            let key = (p + 4)..<(p + 4 + keyLength)
            p = key.upperBound
            guard p + 4 <= mapEnd else { return nil }
            p += 4 + Int(RPCWire.u32(frame, at: p))
            guard p <= mapEnd else { return nil }
            if edits.edits(frame, key) { continue }
            (out + w).copyMemory(from: frame.baseAddress! + entryStart, byteCount: p - entryStart)
            w += p - entryStart
        }
        var i = 0
        while i < edits.count {
            let (name, value) = edits.entry(i)
            i += 1
            RPCWire.store(UInt32(name.count), to: out, at: w)
            (out + w + 4).copyMemory(from: name.baseAddress!, byteCount: name.count)
            w += 4 + name.count
            RPCWire.store(UInt32(value.count), to: out, at: w)
            if value.count > 0 { (out + w + 4).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            w += 4 + value.count
        }
        let mapLength = w - mapStart
        guard mapLength <= 0xffff else { return nil }
        RPCWire.store(UInt16(mapLength), to: out, at: layout.headerLengthOffset)
        let contentLength = contentEnd - mapEnd
        if contentLength > 0 { (out + w).copyMemory(from: frame.baseAddress! + mapEnd, byteCount: contentLength) }
        w += contentLength
        if crc {
            RPCWire.store(BoltCRC32.checksum(UnsafeRawBufferPointer(start: out, count: w)), to: out, at: w)
            w += 4
        }
        return w
    }
}
