// libFuzzer harness: SafeTensors.decode over arbitrary bytes (scripts/fuzz.sh safetensors), then what
// ModelFile.load does with what it decodes: the architecture inference over the model's tensors and the
// model metadata in the header.
import Foundation
import UNetCore
import UNetEngine

/// FUZZ_VERBOSE=1: print why each input was refused (for checking that seeds get deep).
private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        let contents = try SafeTensors.decode(Array(UnsafeBufferPointer(start: data, count: size)))
        let architecture = try UNetArchitecture.inferred(from: contents.tensors.filter { !$0.key.hasPrefix(ModelFile.optimizerPrefix) })
        if let json = contents.metadata[ModelFile.metadataKey],
           let metadata = try? JSONDecoder().decode(ModelMetadata.self, from: Data(json.utf8)) {
            if metadata.architecture != architecture, verbose { print("FuzzSafeTensors: metadata says \(metadata.architecture)") }
            try metadata.validate()
        }
    } catch {
        if verbose { print("FuzzSafeTensors: \(error)") }
    }
    return 0
}
