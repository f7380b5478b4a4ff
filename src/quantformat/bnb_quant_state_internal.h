// The JSON that bitsandbytes stores in `<p>.weight.quant_state.bitsandbytes__nf4` (or `__fp4`): the
// non-tensor part of a Linear4bit's QuantState (shared/formats.md D.1).
//
// bitsandbytes writes it with `json.dumps(dict)` (utils.py pack_dict_to_tensor) of the dict built by
// QuantState.as_dict(packed=True) (functional.py), so the keys come in that dict's insertion order
// and Python's default separators ", " and ": " are used:
//
//   {"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [N, K]}
//   {"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [N, K],
//    "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.0123...}   (double quant)
//
// (one line in the file). `nested_offset` is `offset.item()` of a float32 tensor: the float widened
// to double and printed with Python's repr. We write the same bytes, so a TenPak file and a
// bitsandbytes file of the same weights agree byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tenpak/core/result.h"

namespace tenpak::quantformat::internal {

struct Bnb4QuantState {
    std::string quant_type;  // "nf4" or "fp4"
    int64_t blocksize = 64;
    std::string dtype;  // the original weight dtype: "float16", "bfloat16" or "float32"
    int64_t rows = 0;   // shape[0], N
    int64_t cols = 0;   // shape[1], K
    bool nested = false;
    int64_t nested_blocksize = 256;
    float nested_offset = 0.0f;
};

// The JSON text, as json.dumps writes it. REQUIRES a finite nested_offset when nested.
std::string FormatBnb4QuantState(const Bnb4QuantState& state);

// Parses and checks the JSON: an object with a string "quant_type" (nf4 / fp4), an integer
// "blocksize" (a power of two 32..4096), a string "dtype" (float16 / bfloat16 / float32) and
// "shape" [N, K] of two positive integers; the three nested keys all or none, with a positive integer
// "nested_blocksize", "nested_dtype" "float32" and a finite number "nested_offset". Other keys are
// ignored. Errors (kCorruption) say which key is wrong and how; the caller adds the tensor name.
Result<Bnb4QuantState> ParseBnb4QuantState(std::string_view json);

// Python's repr of a double, which json.dumps uses: the shortest digits that read back, positional
// for decimal exponents -4..15 ("0.0001", "123.0"), otherwise scientific with a sign and at least two
// exponent digits ("1e-05", "1.5e+16"). REQUIRES a finite value.
std::string PythonFloatRepr(double value);

}  // namespace tenpak::quantformat::internal
