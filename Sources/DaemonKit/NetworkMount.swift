import Foundation

/// Which network file system a directory is on: where inotify cannot see other hosts' writes. Read
/// from /proc/self/mountinfo (the mount with the longest mount point containing the path), since
/// Glibc's Swift module does not export statfs.
enum NetworkMount {
    /// "nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", ...; nil for local file systems or when unknown.
    static func kind(of path: String, mountInfo: String? = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) -> String? {
        guard let mountInfo else { return nil }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best: (mountPoint: String, type: String)?
        for line in mountInfo.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS
            let fields = line.split(separator: " ")
            guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            let mountPoint = unescape(String(fields[4]))
            let contains = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains, mountPoint.count >= (best?.mountPoint.count ?? -1) { best = (mountPoint, String(fields[dash + 1])) }
        }
        guard let type = best?.type, isNetwork(type) else { return nil }
        return type
    }

    static func isNetwork(_ type: String) -> Bool {
        ["nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs"].contains(type) || type == "fuse" || type.hasPrefix("fuse.")
    }

    /// mountinfo writes space, tab, newline and backslash in octal (`\040`).
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = [], utf8 = Array(field.utf8), index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
