// The part shared by every model writer: each output tensor names the canonical tensor it comes
// from, the dtype to write and the layout change to apply; StreamTensors reads, converts and
// writes them one at a time into a sink, with a progress bar.
#pragma once

#include <string>
#include <vector>

#include "tenpak/io/tensor_source.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"
#include "tenpak/model/tensor_layout.h"

namespace tenpak::model::internal {

struct ExportTensor {
    io::TensorInfo out;           // name, dtype, shape and size as written
    io::TensorInfo canonical;     // where the data comes from
    bool to_interleaved = false;  // rotary rows HF -> interleaved (GGUF llama)
    int64_t rotary_heads = 0;
    bool transpose = false;  // HF Conv1D [in, out] -> [out, in]
    bool rewritten = false;  // the bytes come from WriteOptions::rewriter, not from a cast
};

// Fills out.dtype's size; fails when the cast is impossible.
Status PlanExportTensor(ExportTensor& tensor);

Status StreamTensors(const Model& model, const std::vector<ExportTensor>& tensors, io::TensorSink& sink, bool progress,
                     const std::string& label, TensorRewriter* rewriter = nullptr);

}  // namespace tenpak::model::internal
