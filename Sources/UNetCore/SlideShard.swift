/// One shard of N of a set of slides, for job arrays: a slide belongs to shard `hash(file name) mod N`
/// (64-bit FNV-1a of the name's UTF-8 bytes), so every slide is in exactly one shard, whichever host
/// lists the directory and in whatever order.
public struct SlideShard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based.
    public let index: Int
    public let count: Int

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public init(index: Int, count: Int) throws(Problem) {
        guard count >= 1, (0..<count).contains(index) else {
            throw Problem(description: "shard \(index)/\(count) does not exist: the index must be in 0..<\(max(count, 1)) and the count at least 1")
        }
        self.index = index
        self.count = count
    }

    /// `I/N`, as `--shard` takes it (`0/4` … `3/4`).
    public init(parsing text: String) throws(Problem) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw Problem(description: "--shard must be I/N with 0 ≤ I < N, such as 0/4, not \"\(text)\"")
        }
        try self.init(index: index, count: count)
    }

    /// The shard a Slurm array task stands for (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`), or nil outside an array. Arrays must be contiguous (`--array=0-15`
    /// or `1-16`); a stepped or listed array is refused, since its ids would leave shards unrun.
    public static func fromSlurm(_ environment: [String: String]) throws(Problem) -> SlideShard? {
        guard let id = environment["SLURM_ARRAY_TASK_ID"] else { return nil }
        guard let task = Int(id), let minimum = Int(environment["SLURM_ARRAY_TASK_MIN"] ?? ""),
              let count = Int(environment["SLURM_ARRAY_TASK_COUNT"] ?? "") else {
            throw Problem(description: "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN or SLURM_ARRAY_TASK_COUNT is missing or not a number")
        }
        if let maximum = environment["SLURM_ARRAY_TASK_MAX"].flatMap(Int.init), maximum - minimum + 1 != count {
            throw Problem(description: "the Slurm array \(minimum)-\(maximum) has \(count) tasks, not \(maximum - minimum + 1): use a contiguous --array (e.g. 0-\(count - 1)) or pass --shard")
        }
        return try SlideShard(index: task - minimum, count: count)
    }

    /// Whether the slide at `path` (only its file name counts) belongs to this shard.
    public func contains(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return Int(StableHash.fnv1a(name) % UInt64(count)) == index
    }

    public var description: String { "\(index)/\(count)" }
}
