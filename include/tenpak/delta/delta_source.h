// The fine-tune a delta rebuilds, read as a TensorSource (the fine-tune's names, dtypes and shapes)
// one tensor at a time, without writing it: `tenpak eval DELTA --base BASE`, and any command that
// opens a model through model::OpenOptions::delta_tensors.
#pragma once

#include <memory>
#include <string>

#include "tenpak/artifact/artifact.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::delta {

// Checks the base first, as `delta apply` does (kInvalidArgument naming the first tensor that is
// missing or differs); each Read rebuilds that tensor (exact ones checked against their hash).
Result<std::unique_ptr<io::TensorSource>> OpenDeltaTensorSource(std::shared_ptr<const artifact::Artifact> delta,
                                                                 const std::string& base_path);

}  // namespace tenpak::delta
