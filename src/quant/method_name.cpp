#include "tenpak/quant/quantizer.h"

namespace tenpak::quant {

std::string_view MethodName(Method method) {
    switch (method) {
        case Method::kRtn:
            return "rtn";
        case Method::kNf4:
            return "nf4";
        case Method::kFp4:
            return "fp4";
        case Method::kInt8:
            return "int8";
        case Method::kGgufQ8_0:
            return "q8_0";
        case Method::kGgufQ4_0:
            return "q4_0";
        case Method::kGgufQ4_1:
            return "q4_1";
        case Method::kGptq:
            return "gptq";
        case Method::kAwq:
            return "awq";
        case Method::kGgufQ4_K:
            return "q4_k";
        case Method::kGgufQ6_K:
            return "q6_k";
    }
    return "unknown";
}

bool IsCalibrated(Method method) {
    return method == Method::kGptq || method == Method::kAwq;
}

}  // namespace tenpak::quant
