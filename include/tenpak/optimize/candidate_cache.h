// The optimizer's cache: each candidate's quantized checkpoint and its measurements, filed under a
// content hash of everything that decides them, so that a second `tenpak optimize` reuses the work
// and a changed model, option or text never reuses a stale result.
//
// Layout: <dir>/<key hex>/model/ (the checkpoint), <dir>/<key hex>/<record>.json (JSON records:
// "quantize", "measure-<hex>"; "digest" under a key made from a model's path, for ModelDigestOf).
// Records are written atomically after the work they describe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenpak/core/hash.h"
#include "tenpak/core/result.h"
#include "tenpak/model/model.h"

namespace tenpak::optimize {

// $TENPAK_CACHE/optimize, else $XDG_CACHE_HOME/tenpak/optimize, else ~/.cache/tenpak/optimize.
std::string DefaultCacheDir();

// SHA-256 over every stored tensor (name, dtype, shape, bytes) and the config: the model's identity,
// whatever its path. Streams one tensor at a time.
Result<Digest> ModelDigest(const model::Model& model);

// SHA-256 of a file's bytes (the eval and calibration texts).
Result<Digest> FileDigest(const std::string& path);

// A key from labelled parts: KeyOf({"model", hex}, {"preset", "bnb_nf4"} ...). The parts' order
// matters; a label names each part so that two parts can never run together.
Digest KeyOf(std::initializer_list<std::pair<std::string_view, std::string_view>> parts);

struct DigestLookup {
    Digest digest{};
    bool memoised = false;  // taken from the cache, no tensor read
};

class CandidateCache {
public:
    explicit CandidateCache(std::string dir) : dir_(std::move(dir)) {}
    // ModelDigest, remembered under the (name, size, modification time) of every file of the model
    // at `path` (the files of a folder, or the one file): a later run on unchanged files reads no
    // weights, which makes a cached `optimize` of a 7B model take seconds, not minutes. A file that
    // changed size or time, appeared or went away makes it hash again, as does `refresh` (for a file
    // rewritten with its old time kept, e.g. by `touch -r`). Memo writes are best effort.
    Result<DigestLookup> ModelDigestOf(const model::Model& model, const std::string& path, bool refresh) const;
    const std::string& dir() const { return dir_; }
    std::string EntryDir(const Digest& key) const;
    std::string ModelDir(const Digest& key) const { return EntryDir(key) + "/model"; }
    // The record, or nullopt when it is missing or unreadable (a damaged record is a miss).
    std::optional<nlohmann::json> Load(const Digest& key, const std::string& record) const;
    Status Store(const Digest& key, const std::string& record, const nlohmann::json& value) const;

private:
    std::string dir_;
};

}  // namespace tenpak::optimize
