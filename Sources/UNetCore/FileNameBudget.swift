/// File names within the file system's limit (NAME_MAX, 255 bytes on ext4, XFS, NFS and SMB):
/// a name that would not fit with the suffixes it needs is cut at a character boundary and marked
/// with `~` and a hash of the whole name, so two long names that share a beginning stay distinct.
public enum FileNameBudget {
    /// Bytes a single path component may have.
    public static let maximumBytes = 255

    /// `name` when it has at most `limit` UTF-8 bytes, otherwise its longest prefix that leaves room
    /// for `~` and 16 hex digits of its FNV-1a hash, followed by them.
    public static func bounded(_ name: String, limit: Int) -> String {
        precondition(limit >= 24, "a name budget below 24 bytes cannot hold the hash suffix")
        guard name.utf8.count > limit else { return name }
        let suffix = "~" + hexHash(name)
        var prefix = Substring(), used = 0
        for character in name {
            let bytes = character.utf8.count
            guard used + bytes <= limit - suffix.utf8.count else { break }
            prefix.append(character)
            used += bytes
        }
        return String(prefix) + suffix
    }

    /// `stem` cut so that `stem + suffix` fits for every suffix given, with `reserve` bytes to spare
    /// (for a `-N` that makes it unique).
    public static func stem(_ stem: String, suffixes: [String], reserve: Int = 0) -> String {
        let longest = suffixes.map(\.utf8.count).max() ?? 0
        return bounded(stem, limit: maximumBytes - longest - reserve)
    }

    /// 64-bit FNV-1a of the UTF-8 bytes, as 16 hex digits: stable across runs and machines.
    public static func hexHash(_ text: String) -> String {
        let digits = String(StableHash.fnv1a(text), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
