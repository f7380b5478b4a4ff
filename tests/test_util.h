// Helpers shared by every test binary: temporary folders, fixture paths, running the CLI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tenpak::testing {

// A fresh folder under $TMPDIR, removed with everything in it when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string File(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// ../shared/data/<relative> (read-only real models and texts).
std::string SharedData(const std::string& relative);
// <source dir>/<relative>: the bundled model under models/, fixtures under tests/data/.
std::string SourcePath(const std::string& relative);
// The bundled model's folder (models/stories260K: Llama, safetensors, tokenizer.json).
std::string BundledModel();

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
// Names of the entries of a folder (not recursive), sorted.
std::vector<std::string> ListDir(const std::string& path);

// Writes the first `bytes` bytes of the bundled validation text to <dir>/sample.txt; returns its path.
std::string SampleText(const TempDir& dir, size_t bytes);

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};
// Runs build/tenpak with the arguments (no shell quoting needed), capturing stdout and stderr.
CommandResult RunTenpak(const std::vector<std::string>& args);

}  // namespace tenpak::testing
