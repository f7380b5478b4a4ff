// Every model family TenPak supports: one row each.
#include "tenpak/model/model_spec.h"

namespace tenpak::model {

extern const ModelSpec kLlamaSpec;
extern const ModelSpec kGpt2Spec;

std::span<const ModelSpec* const> AllSpecs() {
    static const ModelSpec* const kSpecs[] = {&kLlamaSpec, &kGpt2Spec};
    return kSpecs;
}

}  // namespace tenpak::model
