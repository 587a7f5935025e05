/// An optional encoded as `null` rather than left out, so `result.json` keeps the same keys whether or
/// not a value is known (`slide_mpp: null`).
@propertyWrapper
public struct EncodedAsNull<Value: Codable & Sendable>: Codable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing key decodes as nil, as a plain optional would.
    public func decode<Value>(_ type: EncodedAsNull<Value>.Type, forKey key: Key) throws -> EncodedAsNull<Value> {
        try decodeIfPresent(type, forKey: key) ?? EncodedAsNull(wrappedValue: nil)
    }
}
