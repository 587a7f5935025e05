/// A monospaced 1-bit font for printable ASCII, so PNG charts carry the same words as their SVGs
/// without a font library (glyphs: `BitmapFont+Glyphs.swift`, generated).
struct BitmapFont: Sendable {
    let cellWidth: Int
    let cellHeight: Int
    /// Rows from the cell's top to the text baseline.
    let baseline: Int
    /// `cellHeight` rows per glyph, glyphs in code order from 32.
    let rows: [UInt16]

    /// Width in pixels of `text` at `scale`.
    func width(of text: String, scale: Int = 1) -> Int { text.count * cellWidth * scale }

    /// Whether pixel (`x`, `y`) of `character`'s cell is ink; characters outside ASCII draw as `?`.
    func ink(_ character: Character, x: Int, y: Int) -> Bool {
        guard x >= 0, x < cellWidth, y >= 0, y < cellHeight else { return false }
        let code = character.asciiValue.map(Int.init).flatMap { (32...126).contains($0) ? $0 : nil } ?? 63
        return rows[(code - 32) * cellHeight + y] >> UInt16(x) & 1 == 1
    }
}
