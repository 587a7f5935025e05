/// Detection scored against point truth (one x, y per nucleus): each predicted centroid may match one
/// truth point within `radius`, one to one, and the pairing is a maximum matching (Kuhn's augmenting
/// paths, nearest candidates tried first), so no greedy choice can cost a match that exists.
public struct PointDetection: Sendable, Equatable, Codable {
    public var truthPoints = 0
    public var predictedPoints = 0
    public var matched = 0

    public init() {}

    public var precision: Double { predictedPoints == 0 ? (truthPoints == 0 ? 1 : 0) : Double(matched) / Double(predictedPoints) }
    public var recall: Double { truthPoints == 0 ? (predictedPoints == 0 ? 1 : 0) : Double(matched) / Double(truthPoints) }
    public var f1: Double {
        let denominator = truthPoints + predictedPoints
        return denominator == 0 ? 1 : 2 * Double(matched) / Double(denominator)
    }

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.truthPoints += b.truthPoints
        sum.predictedPoints += b.predictedPoints
        sum.matched += b.matched
        return sum
    }

    public struct Point: Sendable, Equatable {
        public var x: Double, y: Double
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    /// Matches `predicted` to `truth` within `radius` (same units as the coordinates).
    public static func compare(truth: [Point], predicted: [Point], radius: Double) -> PointDetection {
        var result = PointDetection()
        result.truthPoints = truth.count
        result.predictedPoints = predicted.count
        // Candidates per prediction, nearest first; a grid of radius-sized cells keeps this linear.
        let cell = max(radius, 1e-9)
        var grid: [Int64: [Int]] = [:]
        func key(_ x: Int, _ y: Int) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: y))) }
        for (index, point) in truth.enumerated() { grid[key(Int((point.x / cell).rounded(.down)), Int((point.y / cell).rounded(.down))), default: []].append(index) }
        let candidates: [[Int]] = predicted.map { point in
            let cx = Int((point.x / cell).rounded(.down)), cy = Int((point.y / cell).rounded(.down))
            var near: [(Int, Double)] = []
            for dy in -1...1 {
                for dx in -1...1 {
                    for index in grid[key(cx + dx, cy + dy)] ?? [] {
                        let ddx = truth[index].x - point.x, ddy = truth[index].y - point.y
                        let distance = (ddx * ddx + ddy * ddy).squareRoot()
                        if distance <= radius { near.append((index, distance)) }
                    }
                }
            }
            return near.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.map(\.0)
        }
        var owner = [Int](repeating: -1, count: truth.count)  // truth index → prediction index
        for prediction in predicted.indices where !candidates[prediction].isEmpty {
            var visited = [Bool](repeating: false, count: truth.count)
            if augment(prediction, candidates: candidates, owner: &owner, visited: &visited) { result.matched += 1 }
        }
        return result
    }

    /// One augmenting path from `prediction` (iterative, so a long path cannot overflow the stack).
    private static func augment(_ prediction: Int, candidates: [[Int]], owner: inout [Int], visited: inout [Bool]) -> Bool {
        // Stack of (prediction, next candidate position); `via` remembers which truth point led to each.
        var stack: [(prediction: Int, position: Int)] = [(prediction, 0)]
        var via: [Int] = []
        while let top = stack.last {
            let options = candidates[top.prediction]
            guard top.position < options.count else {
                stack.removeLast()
                if !via.isEmpty { via.removeLast() }
                continue
            }
            stack[stack.count - 1].position += 1
            let t = options[top.position]
            guard !visited[t] else { continue }
            visited[t] = true
            if owner[t] < 0 {
                // Flip the path: each truth point on it goes to the prediction that reached it.
                var point = t
                for level in stride(from: stack.count - 1, through: 0, by: -1) {
                    let previous = level > 0 ? via[level - 1] : -1
                    owner[point] = stack[level].prediction
                    point = previous
                }
                return true
            }
            via.append(t)
            stack.append((owner[t], 0))
        }
        return false
    }

    enum CodingKeys: String, CodingKey {
        case truthPoints = "truth_points", predictedPoints = "predicted_points", matched
    }
}
