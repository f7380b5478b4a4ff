// A delta artifact opened against its base: every tensor's entry, the base's tensors mapped and
// checked against the hashes the delta recorded (before anything is rebuilt), and each fine-tune
// tensor rebuilt on request. Shared by `delta apply` (files) and the delta TensorSource (eval).
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>

#include "delta_format.h"
#include "tenpak/artifact/artifact.h"
#include "tenpak/artifact/packer.h"

namespace tenpak::delta {

// Thread safety: immutable after Open; Rebuild may run on several threads.
class DeltaReader : public std::enable_shared_from_this<DeltaReader> {
public:
    // kInvalidArgument naming the delta when it is not one, and naming the first base tensor that is
    // missing or differs from the one the delta was made against.
    static Result<std::shared_ptr<const DeltaReader>> Open(std::shared_ptr<const artifact::Artifact> delta,
                                                           const std::string& base_path);

    const artifact::Artifact& artifact() const { return *delta_; }
    const std::map<std::string, TensorDelta, std::less<>>& tensors() const { return plan_; }
    uint64_t base_tensors_checked() const { return checked_; }

    // The fine-tune's bytes of one tensor of the delta: exact ones checked against their recorded
    // hash (kIntegrity naming the tensor: a damaged delta), approximated ones within their budget.
    Result<io::TensorData> Rebuild(const artifact::TensorEntry& entry) const;

private:
    DeltaReader() = default;

    std::shared_ptr<const artifact::Artifact> delta_;
    std::map<std::string, TensorDelta, std::less<>> plan_;
    artifact::PackInput base_;  // keeps the base's files mapped
    std::map<std::string, std::span<const std::byte>, std::less<>> base_bytes_;
    uint64_t checked_ = 0;
};

}  // namespace tenpak::delta
