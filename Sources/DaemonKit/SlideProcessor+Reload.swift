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
}
