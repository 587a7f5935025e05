import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command body; any error becomes one `error: ...` line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        var stderr = StandardError()
        print("error: \(error)", to: &stderr)
        throw ExitCode(1)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = Glibc.write(STDERR_FILENO, &bytes, bytes.count)
    }
}
