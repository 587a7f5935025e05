import Foundation
import SlideIO
import Synchronization

/// The viewer's open images (slides and masks), the most recently used few kept open so that a
/// viewer's many tile requests do not each reopen the TIFF. Each image serves one tile at a time
/// (libtiff handles are not thread-safe); different images serve in parallel.
final class DeepZoomCache: Sendable {
    /// One open image, used under its own lock.
    final class Entry: Sendable {
        let source: Mutex<DeepZoomSource>
        let grid: DeepZoomGridInfo
        init(_ source: sending DeepZoomSource) {
            grid = DeepZoomGridInfo(source)
            self.source = Mutex(source)
        }
    }

    /// How many images stay open: a mask PNG is held whole (at most `maskPixels` bytes), so this also bounds memory.
    static let capacity = 4
    /// The largest mask PNG the viewer decodes (a byte a pixel); larger slides' masks come from their pyramid TIFF.
    static let maskPixels = 100_000_000

    private let entries = Mutex<[(key: String, entry: Entry)]>([])

    /// The image at `path` (a TIFF, or a mask PNG), opened on first use. `key` includes the file's
    /// identity, so a replaced file is opened again.
    func entry(path: String) throws(SlideError) -> Entry {
        var info = stat()
        let key = stat(path, &info) == 0 ? "\(path)#\(info.st_ino)#\(info.st_mtim.tv_sec)" : path
        if let found = entries.withLock({ list -> Entry? in
            guard let index = list.firstIndex(where: { $0.key == key }) else { return nil }
            let hit = list.remove(at: index)
            list.append(hit)
            return hit.entry
        }) { return found }
        let source = path.hasSuffix(".png") ? try DeepZoomSource(png: path, maximumPixels: Self.maskPixels) : try DeepZoomSource(tiff: path)
        let entry = Entry(source)
        entries.withLock { list in
            list.append((key, entry))
            if list.count > Self.capacity { list.removeFirst(list.count - Self.capacity) }
        }
        return entry
    }
}

/// What the viewer needs to know of an open image, readable without its lock.
struct DeepZoomGridInfo: Sendable {
    let width: Int, height: Int, tileSize: Int, minLevel: Int, maxLevel: Int

    init(_ source: DeepZoomSource) {
        width = source.grid.width
        height = source.grid.height
        tileSize = source.grid.tileSize
        minLevel = source.minimumLevel
        maxLevel = source.grid.maxLevel
    }
}
