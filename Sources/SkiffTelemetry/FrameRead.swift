/// The outcome of reading a ring at a cursor.
///
/// A reader keeps the last `seq` it saw as its cursor and passes it back on the next read; `missed` tells it how
/// many frames were overwritten before it got to them, so `seen + missed` always adds up to the frames published.
public enum FrameRead: Sendable, Equatable {
    /// The frame `seq` was copied into the caller's buffer; `missed` frames between the cursor and it were lost.
    case frame(seq: UInt64, missed: UInt64)
    /// Nothing newer than the cursor has been published yet.
    case none
}
