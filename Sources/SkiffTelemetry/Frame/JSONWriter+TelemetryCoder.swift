import SkiffJSON

/// Encoding a ``TelemetryRecord``: each member becomes `"key":value`, optionals only when set. Arrays are iterated,
/// never mutated, so encoding a frame does not copy its arrays.
extension JSONWriter: TelemetryCoder {
    public mutating func field(_ key: StaticString, _ value: inout UInt64) {
        self.key(key)
        uint(value)
    }

    public mutating func field(_ key: StaticString, _ value: inout Int) {
        self.key(key)
        int(value)
    }

    public mutating func field(_ key: StaticString, _ value: inout Bool) {
        self.key(key)
        bool(value)
    }

    public mutating func field(_ key: StaticString, _ value: inout String) {
        self.key(key)
        string(value)
    }

    public mutating func field(_ key: StaticString, _ value: inout UInt64?) {
        guard let v = value else { return }
        self.key(key)
        uint(v)
    }

    public mutating func field(_ key: StaticString, _ value: inout Int?) {
        guard let v = value else { return }
        self.key(key)
        int(v)
    }

    public mutating func field(_ key: StaticString, _ value: inout Bool?) {
        guard let v = value else { return }
        self.key(key)
        bool(v)
    }

    public mutating func field(_ key: StaticString, _ value: inout String?) {
        guard let v = value else { return }
        self.key(key)
        string(v)
    }

    public mutating func field(_ key: StaticString, _ value: inout [UInt64]) {
        self.key(key)
        beginArray()
        for v in value { uint(v) }
        endArray()
    }

    public mutating func field(_ key: StaticString, _ value: inout [UInt64]?) {
        guard var v = value else { return }
        field(key, &v)
    }

    public mutating func field(_ key: StaticString, _ value: inout [String]) {
        self.key(key)
        beginArray()
        for v in value { string(v) }
        endArray()
    }

    public mutating func field(_ key: StaticString, _ value: inout [String: String]?) {
        guard let map = value else { return }
        self.key(key)
        beginObject()
        for (k, v) in map.sorted(by: { $0.key < $1.key }) {
            self.key(dynamic: k)
            string(v)
        }
        endObject()
    }

    public mutating func field(_ key: StaticString, _ value: inout [String: UInt64]) {
        self.key(key)
        beginObject()
        for (k, v) in value.sorted(by: { $0.key < $1.key }) {
            self.key(dynamic: k)
            uint(v)
        }
        endObject()
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R) {
        self.key(key)
        beginObject()
        value.fields(&self)
        endObject()
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R?) {
        guard var v = value else { return }
        field(key, &v)
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]) {
        self.key(key)
        beginArray()
        for element in value {
            var element = element
            beginObject()
            element.fields(&self)
            endObject()
        }
        endArray()
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]?) {
        guard var v = value else { return }
        field(key, &v)
    }

    public mutating func tag(_ key: StaticString, _ value: StaticString) {
        self.key(key)
        string(value)
    }

    public mutating func otherMembers(_ members: inout [JSONMember], known: [StaticString]) {
        for m in members {
            self.key(dynamic: m.key)
            self.value(m.value)
        }
    }
}
