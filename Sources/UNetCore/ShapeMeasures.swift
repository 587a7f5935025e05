import Foundation

/// The shape of one object, measured on its polygon (the rings its GeoJSON carries, in pixels), as
/// QuPath measures a ROI: area and perimeter of the polygon, circularity 4πA/P², solidity
/// (area / convex hull area), the largest and smallest caliper (Feret) diameters of the hull, and the
/// eccentricity of the ellipse with the same second moments, √(1 − λ₂/λ₁).
public struct ShapeMeasures: Sendable, Equatable {
    public var area: Double
    public var perimeter: Double
    public var circularity: Double
    public var solidity: Double
    public var maximumCaliper: Double
    public var minimumCaliper: Double
    public var eccentricity: Double

    /// `rings`: closed rings (first point repeated last), the outer one counter-clockwise by the shoelace
    /// sign, holes clockwise, as `ObjectOutline` writes them. Holes subtract from area and moments;
    /// the hull and calipers are those of the outer ring; the perimeter is every ring's.
    public init(rings: [[SIMD2<Double>]]) {
        guard let outer = rings.first, let origin = outer.first else {
            self.init(area: 0, perimeter: 0, circularity: 0, solidity: 0, maximumCaliper: 0, minimumCaliper: 0, eccentricity: 0)
            return
        }
        // Moments by Green's theorem, about the first vertex so that slide coordinates lose no precision.
        var area = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, perimeter = 0.0
        for ring in rings {
            for (p, q) in zip(ring, ring.dropFirst()) {
                let a = p - origin, b = q - origin
                let cross = a.x * b.y - b.x * a.y
                area += cross
                sx += (a.x + b.x) * cross
                sy += (a.y + b.y) * cross
                sxx += (a.x * a.x + a.x * b.x + b.x * b.x) * cross
                syy += (a.y * a.y + a.y * b.y + b.y * b.y) * cross
                sxy += (a.x * b.y + 2 * a.x * a.y + 2 * b.x * b.y + b.x * a.y) * cross
                perimeter += ((b - a) * (b - a)).sum().squareRoot()
            }
        }
        area /= 2
        guard area > 0 else {
            self.init(area: 0, perimeter: perimeter, circularity: 0, solidity: 0, maximumCaliper: 0, minimumCaliper: 0, eccentricity: 0)
            return
        }
        let cx = sx / (6 * area), cy = sy / (6 * area)
        let muXX = sxx / (12 * area) - cx * cx, muYY = syy / (12 * area) - cy * cy, muXY = sxy / (24 * area) - cx * cy
        let halfTrace = (muXX + muYY) / 2, root = (((muXX - muYY) / 2) * ((muXX - muYY) / 2) + muXY * muXY).squareRoot()
        let major = halfTrace + root, minor = max(0, halfTrace - root)
        let hull = Self.convexHull(Array(outer.dropLast()).map { $0 - origin })
        let calipers = Self.calipers(hull)
        self.init(area: area, perimeter: perimeter, circularity: 4 * .pi * area / (perimeter * perimeter),
                  solidity: min(1, area / Self.polygonArea(hull)), maximumCaliper: calipers.maximum, minimumCaliper: calipers.minimum,
                  eccentricity: major > 0 ? (1 - minor / major).squareRoot() : 0)
    }

    public init(area: Double, perimeter: Double, circularity: Double, solidity: Double, maximumCaliper: Double,
                minimumCaliper: Double, eccentricity: Double) {
        self.area = area
        self.perimeter = perimeter
        self.circularity = circularity
        self.solidity = solidity
        self.maximumCaliper = maximumCaliper
        self.minimumCaliper = minimumCaliper
        self.eccentricity = eccentricity
    }

    /// Andrew's monotone chain: the hull counter-clockwise, without collinear points.
    static func convexHull(_ points: [SIMD2<Double>]) -> [SIMD2<Double>] {
        let sorted = points.sorted { $0.x < $1.x || ($0.x == $1.x && $0.y < $1.y) }
        guard sorted.count > 2 else { return sorted }
        func turn(_ o: SIMD2<Double>, _ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double {
            (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
        }
        var hull: [SIMD2<Double>] = []
        for pass in [sorted, sorted.reversed()] {
            let start = hull.count
            for point in pass {
                while hull.count >= start + 2, turn(hull[hull.count - 2], hull[hull.count - 1], point) <= 0 { hull.removeLast() }
                hull.append(point)
            }
            hull.removeLast()
        }
        return hull
    }

    static func polygonArea(_ polygon: [SIMD2<Double>]) -> Double {
        guard polygon.count > 2 else { return 0 }
        return zip(polygon, polygon.dropFirst() + [polygon[0]]).reduce(0) { $0 + $1.0.x * $1.1.y - $1.1.x * $1.0.y } / 2
    }

    /// Feret diameters of a convex polygon: the largest distance between two vertices, and the
    /// smallest width, which is reached with one side of the hull flat against a caliper.
    static func calipers(_ hull: [SIMD2<Double>]) -> (maximum: Double, minimum: Double) {
        var maximum = 0.0
        for i in hull.indices { for j in hull.indices where j > i { maximum = max(maximum, ((hull[i] - hull[j]) * (hull[i] - hull[j])).sum()) } }
        guard hull.count > 2 else { return (maximum.squareRoot(), 0) }
        var minimum = Double.infinity
        for i in hull.indices {
            let a = hull[i], b = hull[(i + 1) % hull.count]
            let side = b - a, length = (side * side).sum().squareRoot()
            guard length > 0 else { continue }
            let width = hull.reduce(0.0) { max($0, abs(side.x * ($1.y - a.y) - side.y * ($1.x - a.x)) / length) }
            minimum = min(minimum, width)
        }
        return (maximum.squareRoot(), minimum)
    }
}
