import ArgumentParser
import Foundation
import UNetEngine

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a model's architecture, parameter count, preprocessing and sha256.")

    @Argument(help: "Model file (.pth or .safetensors).") var model: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        try reportingErrors {
            let file = try ModelFile.load(path: model)
            let summary = ModelSummary(file)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                print(summary.text)
            }
        }
    }
}
