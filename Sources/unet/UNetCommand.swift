import ArgumentParser

@main
struct UNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract: "Segment H&E slides with a U-Net; convert, inspect and benchmark models.",
        subcommands: [SegmentCommand.self, TrainCommand.self, EvalCommand.self, ConvertCommand.self, InspectCommand.self, BenchCommand.self])
}
