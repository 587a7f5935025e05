import ControlProtocol
import Foundation
import Logging

/// What asked for a model reload; every trigger goes through the same `reloadModel`.
public enum ReloadTrigger: String, Sendable {
    /// `unetctl reload` (POST /v1/reload).
    case socket
    /// SIGHUP (`systemctl reload unetd`).
    case signal = "sighup"
    /// The configured model file changed on disk (`watch_model`).
    case modelFileChanged = "model-file-changed"
}

extension SlideProcessor {
    /// The one reload operation: tells systemd it is reloading, validates and test-runs the new model
    /// in `ModelRegistry` (the old one keeps serving if it is refused), reports the outcome to systemd
    /// (STATUS=) and the log in the same words whatever the trigger, and wakes the queue.
    public func reloadModel(path: String? = nil, trigger: ReloadTrigger) async -> ReloadResponse {
        notifier.reloading()
        let error = await registry.reload(path: path)
        let model = await registry.current
        let sha = model.file.sha256.prefix(12)
        let metadata: Logger.Metadata = ["trigger": "\(trigger.rawValue)", "model": "\(model.file.path)", "sha256": "\(model.file.sha256)"]
        if let error {
            notifier.ready(status: "reload refused; still serving model \(sha)")
            logger.error("reload refused; the previous model keeps serving", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        } else {
            notifier.ready(status: "model \(sha)")
            logger.notice("model reloaded", metadata: metadata)
        }
        nudge()
        return ReloadResponse(ok: error == nil, model: model.status, error: error)
    }

    /// Reloads when the configured model file changed on disk (replaced, rewritten or touched).
    func checkModelFile() async {
        let model = configuration.model
        guard configuration.watchModel, let stamp = try? await io.run({ ModelFileStamp(model) }) else { return }
        let previous = intake.withLock { state in
            defer { state.modelStamp = stamp }
            return state.modelStamp
        }
        guard let previous, previous != stamp else { return }
        logger.notice("model file changed; reloading", metadata: ["model": "\(configuration.model ?? "")"])
        _ = await reloadModel(trigger: .modelFileChanged)
    }

    /// A model file's identity and last change, to notice it being replaced, rewritten or touched.
    struct ModelFileStamp: Equatable {
        let inode: UInt64, size: Int64, modified: Double

        init?(_ path: String?) {
            var info = stat()
            guard let path, stat(path, &info) == 0 else { return nil }
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9
        }
    }
}
